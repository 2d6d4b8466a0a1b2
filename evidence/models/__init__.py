"""Evidence models, one module per domain."""

from evidence.models.fleet import Distribution, Environment, Fleet, Host
from evidence.models.packet import AuditPacket, PacketStatus
from evidence.models.sbom import SbomDocument, SbomStatus

__all__ = [
    "AuditPacket",
    "Distribution",
    "Environment",
    "Fleet",
    "Host",
    "PacketStatus",
    "SbomDocument",
    "SbomStatus",
]
