"""The organisation overview: where the organisation stands, in figures that link to evidence.

This quarter to date (UTC calendar quarters): open exposures by tier, overdue, the share fixed
within SLA, time to remediate, known-exploited exposures, stale inventories and stale feeds;
the burn-down and the in-SLA trend of the last six months (`timeline_overview_begin` counts them
with the quarter's, in one scan of the exposures), drawn by the same chart code as the audit
packets (evidence.charts through evidence.packets.context); and the control statuses of the
organisation's latest evaluation. Reads only; its query count does not depend on the number of
hosts, exposures, months or feeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from evidence.charts import Chart
from evidence.models import ControlAssessment, ControlEvaluation, EvaluationStatus
from evidence.packets.context import charts_for, months_between
from evidence.selectors import feeds_not_ok
from evidence.timeline import StaleHost, TimelineFigures, timeline_overview_begin
from portal.accounts.access import Access

TREND_MONTHS = 6
# Stale hosts named on the overview (the longest silent first); the count covers all of them,
# and each fleet's page marks its own. An organisation whose agents stopped could have
# hundreds, and the page would grow with them.
STALE_HOSTS_SHOWN = 20


@dataclass
class Overview:
    start: datetime
    now: datetime
    figures: TimelineFigures
    in_sla_percent: float | None
    stale_feeds: list[str]
    charts: dict[str, Chart]
    evaluation: ControlEvaluation | None
    assessments: list[ControlAssessment]
    stale_hosts_shown: list[StaleHost]


def _quarter_start(now: datetime) -> datetime:
    return datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)


def _months_back(now: datetime, count: int) -> datetime:
    year, month = now.year, now.month - (count - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def overview_begin(access: Access, *, now: datetime | None = None) -> Callable[[], Overview]:
    """The overview, in two steps (see `timeline_overview_begin`): this starts the figures'
    reads and reads the controls and feeds; the function returned finishes. A page that shows more
    than the overview reads its other parts in between, while the figures' longest read still
    runs on its own connection."""
    now = now or timezone.now()
    start = _quarter_start(now)
    figures_finish = timeline_overview_begin(
        access,
        fleet=None,
        start=start,
        end=now,
        trend=months_between(_months_back(now, TREND_MONTHS), now),
        now=now,
    )
    evaluations = ControlEvaluation.objects.filter(
        organization=access.organization, status=EvaluationStatus.DONE
    )
    evaluations = (
        evaluations.filter(fleet_id=access.fleet_id)
        if access.fleet_id is not None
        else evaluations.filter(fleet__isnull=True)
    )
    evaluation = evaluations.order_by("-finished_at", "-pk").first()
    assessments = list(evaluation.assessments.order_by("pk")) if evaluation else []
    stale_feeds = [source.slug for source in feeds_not_ok(now=now)]

    def finish() -> Overview:
        figures, trend = figures_finish()
        monthly = [(f"{month.start:%b %Y}", month) for month in trend]
        counted = sum(t.sla_counted for t in figures.tiers)
        met = sum(t.sla_met for t in figures.tiers)
        return Overview(
            start=start,
            now=now,
            figures=figures,
            in_sla_percent=round(100 * met / counted, 1) if counted else None,
            stale_feeds=stale_feeds,
            charts=charts_for(figures, monthly),
            evaluation=evaluation,
            assessments=assessments,
            stale_hosts_shown=sorted(figures.stale_hosts, key=_silent_longest)[:STALE_HOSTS_SHOWN],
        )

    return finish


def _silent_longest(host: StaleHost) -> tuple[bool, datetime, str]:
    """Sort key: hosts never seen first, then by their last snapshot, oldest first."""
    seen = host.last_snapshot_at
    return (seen is not None, seen or datetime.min.replace(tzinfo=UTC), host.hostname)


def overview_context(overview_finish: Callable[[], Overview]) -> dict[str, Any]:
    """The template context of `_overview.html`, from `overview_begin`'s function."""
    return {"overview": overview_finish(), "chart_table_open": False}
