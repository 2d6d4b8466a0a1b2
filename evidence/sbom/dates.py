"""Document creation times: ISO 8601 strings (or YAML datetimes) to timezone-aware datetimes."""

from __future__ import annotations

from datetime import date, datetime

from evidence.sbom.findings import Findings


def created_at(value: object, *, where: str, findings: Findings) -> datetime | None:
    """The timezone-aware time `value` states, or None (with a warning saying why) when it is
    missing, not a date-time, or has no time zone."""
    if value is None or value == "":
        findings.add("document", f"{where}: no creation time; the upload time will be used")
        return None
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = None
    elif isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        findings.add("document", f"{where}: {str(value)[:64]!r} is not an ISO 8601 date-time")
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        findings.add("document", f"{where}: {str(value)[:64]!r} has no time zone; ignored")
        return None
    return parsed
