"""Template filters for packets and evidence pages: UTC timestamps, percentages, metric values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template

from evidence.controls.evaluate import format_value, target_text

register = template.Library()
DASH = "\u2013"  # an en dash: "no value"

_OUTCOMES = {
    "met": "met",
    "partially_met": "partially met",
    "not_met": "not met",
    "no_data": "nothing to measure",
    "info": "for information",
}
_KINDS = {
    "exposures": "exposure(s)",
    "hosts": "host(s)",
    "sbom_documents": "SBOM document(s)",
    "feed_runs": "feed run(s)",
    "exceptions": "exception(s)",
}


@register.filter
def utc_stamp(value: datetime | None) -> str:
    """2026-07-01 00:00 UTC (empty for None)."""
    if not isinstance(value, datetime):
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@register.filter
def utc_date(value: datetime | None) -> str:
    if not isinstance(value, datetime):
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d")


@register.filter
def percent(value: float | None) -> str:
    """A percentage (already 0-100) with at most one decimal; a dash for None."""
    if value is None:
        return DASH
    return f"{value:.1f}%".replace(".0%", "%")


@register.filter
def percent01(value: float | None) -> str:
    """A 0-1 share as a percentage; a dash for None."""
    return percent(None if value is None else value * 100)


@register.filter
def days(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.1f} d".replace(".0 d", " d")


@register.filter
def metric(value: float | None, unit: str) -> str:
    return format_value(value, unit)


@register.filter
def outcome(value: str) -> str:
    return _OUTCOMES.get(value, value)


@register.filter
def kind_label(value: str) -> str:
    return _KINDS.get(value, value.replace("_", " "))


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key)


@register.filter
def nodes_for(catalog: Any, control_id: str) -> list[Any]:
    """The requirement nodes a control maps to: [(mapping, node), ...]."""
    return list(catalog.nodes_for(control_id))


@register.filter
def target(threshold: dict[str, Any] | None, unit: str) -> str:
    """A threshold as printed: "≥ 95%", "≤ 7 days", "yes"."""
    return target_text(threshold, unit) if threshold else ""


@register.filter
def recent(runs: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The `count` most recently finished runs, newest first."""
    return sorted(runs, key=lambda r: (r["finished_at"], r["id"]), reverse=True)[:count]


@register.filter
def days_bare(value: float | None) -> str:
    """A number of days without its unit (the unit follows elsewhere)."""
    return days(value).removesuffix(" d")


@register.filter
def status_label(value: str) -> str:
    """An exposure status as people read it ("fixed_late" -> "Fixed late")."""
    from evidence.models import ExposureStatus

    try:
        return str(ExposureStatus(value).label)
    except ValueError:
        return value


@register.filter
def exception_state(exception: Any, now: datetime | None = None) -> str:
    """requested, approved, expired or revoked: `RiskException.state_at(now)`."""
    return str(exception.state_at(now))
