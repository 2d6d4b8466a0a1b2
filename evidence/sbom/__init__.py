"""SBOM parsers: bytes in, plain dataclasses out. No ORM, no I/O beyond the bytes given."""

from evidence.sbom.model import ParsedSbom, SbomParseError
from evidence.sbom.registry import sbom_parse, sbom_sniff

__all__ = ["ParsedSbom", "SbomParseError", "sbom_parse", "sbom_sniff"]
