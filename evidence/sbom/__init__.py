"""SBOM parsers: bytes in, plain data types out. No ORM, no settings, no I/O beyond the bytes.

`sbom_sniff` is the cheap upload-time check (which format is it, is it plausibly whole);
`sbom_parse` reads the document into a `ParsedSbom`. Both raise `SbomParseError` with a message
that says what is wrong and where.
"""

from evidence.sbom.detect import sbom_sniff
from evidence.sbom.model import Component, Detected, Limits, ParsedSbom, SbomParseError
from evidence.sbom.parse import sbom_parse

__all__ = [
    "Component",
    "Detected",
    "Limits",
    "ParsedSbom",
    "SbomParseError",
    "sbom_parse",
    "sbom_sniff",
]
