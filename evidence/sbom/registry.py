"""Format detection from content (never from the file name) and dispatch to a parser."""

from __future__ import annotations

import json
from typing import Any

from evidence.sbom import cyclonedx_json
from evidence.sbom.model import ParsedSbom, SbomParseError


def _decode_json(data: bytes) -> Any:
    if not data.strip():
        raise SbomParseError("the document is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SbomParseError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} is invalid", location=f"byte {exc.start}"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise SbomParseError(
                "not JSON: the document ends before the JSON is complete (truncated upload?)",
                location=f"line {exc.lineno}, column {exc.colno}",
            ) from None
        raise SbomParseError(
            f"not JSON: {exc.msg}", location=f"line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise SbomParseError("JSON is nested too deeply") from None


def sbom_sniff(data: bytes) -> str:
    """Cheap check done at upload time: returns the syntax ('json') or raises SbomParseError."""
    doc = _decode_json(data)
    if not isinstance(doc, dict):
        raise SbomParseError("a JSON SBOM must be an object at the top level", location="$")
    return "json"


def sbom_parse(data: bytes) -> ParsedSbom:
    """Parse an SBOM document of any supported format."""
    doc = _decode_json(data)
    if cyclonedx_json.looks_like(doc):
        return cyclonedx_json.parse(doc)
    raise SbomParseError(
        "unsupported SBOM: expected a CycloneDX JSON document ('bomFormat': 'CycloneDX')",
        location="$",
    )
