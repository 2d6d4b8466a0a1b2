"""Evidence models, one module per domain."""

from evidence.models.advisory import (
    Advisory,
    AdvisoryAlias,
    AffectedPackage,
    FeedPayload,
    FeedRun,
    FeedSource,
    KevEntry,
    RetiredPackage,
    RunStatus,
)
from evidence.models.controls import (
    AssessmentStatus,
    ControlAssessment,
    ControlEvaluation,
    EvaluationStatus,
)
from evidence.models.exposure import (
    CloseReason,
    Exposure,
    ExposureStatus,
    RiskException,
    covers,
    exceptions_in_force,
)
from evidence.models.exposure_history import ExposureVersion, versions_known_at
from evidence.models.fleet import Distribution, Environment, Fleet, Host, SlaProfileChange
from evidence.models.ledger import Package, PackageInterval
from evidence.models.notification import (
    EMAIL_BY_DEFAULT,
    Notification,
    NotificationKind,
    NotificationPreference,
    WebhookEndpoint,
    WebhookStatus,
)
from evidence.models.packet import AuditPacket, PacketStatus
from evidence.models.sbom import SbomDocument, SbomStatus
from evidence.models.vex import VexStatement, VexUpload

__all__ = [
    "EMAIL_BY_DEFAULT",
    "Advisory",
    "AdvisoryAlias",
    "AffectedPackage",
    "AssessmentStatus",
    "AuditPacket",
    "CloseReason",
    "ControlAssessment",
    "ControlEvaluation",
    "Distribution",
    "Environment",
    "EvaluationStatus",
    "Exposure",
    "ExposureStatus",
    "ExposureVersion",
    "FeedPayload",
    "FeedRun",
    "FeedSource",
    "Fleet",
    "Host",
    "KevEntry",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "Package",
    "PackageInterval",
    "PacketStatus",
    "RetiredPackage",
    "RiskException",
    "RunStatus",
    "SbomDocument",
    "SbomStatus",
    "SlaProfileChange",
    "VexStatement",
    "VexUpload",
    "WebhookEndpoint",
    "WebhookStatus",
    "covers",
    "exceptions_in_force",
    "versions_known_at",
]
