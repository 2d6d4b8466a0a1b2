"""CycloneDX JSON: enough to identify the document and count its components.

Counting rule: every component at any depth under `components` (nested `components` too),
never `metadata.component`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evidence.sbom.model import ParsedSbom, SbomParseError

FORMAT = "cyclonedx-json"
MAX_COMPONENTS = 500_000


def looks_like(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX"


def _count_components(components: Any, path: str) -> int:
    if not isinstance(components, list):
        raise SbomParseError("'components' must be a list", location=path)
    count = 0
    stack: list[tuple[list[Any], str]] = [(components, path)]
    while stack:
        items, where = stack.pop()
        for index, item in enumerate(items):
            here = f"{where}[{index}]"
            if not isinstance(item, dict):
                raise SbomParseError("component must be an object", location=here)
            count += 1
            if count > MAX_COMPONENTS:
                raise SbomParseError(f"more than {MAX_COMPONENTS} components", location=here)
            nested = item.get("components")
            if nested is not None:
                if not isinstance(nested, list):
                    raise SbomParseError("'components' must be a list", location=here)
                stack.append((nested, f"{here}.components"))
    return count


def _timestamp(doc: dict[str, Any]) -> datetime | None:
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return None
    raw = metadata.get("timestamp")
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def parse(doc: Any) -> ParsedSbom:
    """Read a decoded CycloneDX JSON document."""
    if not looks_like(doc):
        raise SbomParseError(
            "not a CycloneDX document: 'bomFormat' is not 'CycloneDX'", location="$"
        )
    spec = doc.get("specVersion")
    if not isinstance(spec, str):
        raise SbomParseError("'specVersion' is missing or not a string", location="$.specVersion")
    components = doc.get("components", [])
    count = _count_components(components, "$.components")
    warnings = []
    created = _timestamp(doc)
    if created is None:
        warnings.append("metadata.timestamp is missing or not a valid date-time with a zone")
    return ParsedSbom(
        format=FORMAT,
        spec_version=spec,
        component_count=count,
        created_at=created,
        warnings=warnings,
    )
