"""Evidence models, one module per domain."""

from evidence.models.fleet import Distribution, Environment, Fleet, Host
from evidence.models.ledger import Package, PackageInterval
from evidence.models.packet import AuditPacket, PacketStatus
from evidence.models.sbom import SbomDocument, SbomStatus

__all__ = [
    "AuditPacket",
    "Distribution",
    "Environment",
    "Fleet",
    "Host",
    "Package",
    "PackageInterval",
    "PacketStatus",
    "SbomDocument",
    "SbomStatus",
]
