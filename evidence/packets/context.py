"""What an audit packet shows, gathered for one scope and period as known at the period's end.

`packet_gather` evaluates the control catalog (evidence.controls.evaluate) and reads the rest of
the evidence the packet prints: exposure tables, exceptions, KEV items, lags, the inventory and
the feed provenance, each as Patchproof knew it at `known_at` (see evidence.controls.metrics).
`PacketData.figures` holds every number the packet shows, built only from that evidence, so
building the packet of a past period again later gives the same figures; the manifest
(evidence.packets.manifest) carries them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import F, Max, Q

from evidence.charts import Chart, Series, bar_chart, hbar_chart, line_chart
from evidence.controls.catalog import Catalog
from evidence.controls.evaluate import AssessmentResult, Evaluated, controls_evaluate
from evidence.models import (
    AuditPacket,
    ExposureVersion,
    FeedRun,
    Fleet,
    RiskException,
    RunStatus,
    exceptions_in_force,
)
from evidence.sla.profiles import profile_digest, profile_load
from evidence.timeline import PeriodTrend, TimelineFigures, timeline_figures

ROWS_SHOWN = 100  # table rows printed per evidence table; the counts are always complete
FRAMEWORK_SECTIONS = (
    ("gdpr", "GDPR Art. 32 and related articles"),
    ("ccpa", "CCPA (Cal. Civ. Code)"),
    ("cppa-regs", "CPPA cybersecurity-audit regulations (11 CCR §§7120-7124)"),
)


@dataclass
class Table:
    """Rows for one evidence table, at most ROWS_SHOWN of `total`."""

    rows: list[dict[str, Any]]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


@dataclass
class PacketData:
    packet: AuditPacket
    evaluated: Evaluated
    figures: dict[str, Any]
    charts: dict[str, Chart]
    frameworks: list[dict[str, Any]]
    assessments: list[AssessmentResult]
    controls: list[dict[str, Any]]  # {"control": catalog Control, "result": AssessmentResult}
    overdue: Table
    late: Table
    kev: Table
    exceptions: Table
    hosts: Table
    documents: list[dict[str, Any]]  # every SBOM document used (the manifest lists them all)
    feed_runs: list[dict[str, Any]]  # every run used (the manifest lists them all)
    feed_sources: list[dict[str, Any]]  # per source: runs, failures, first and last
    profiles: list[dict[str, Any]]
    fleets: list[dict[str, Any]]
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def catalog(self) -> Catalog:
        return self.evaluated.catalog


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def months_between(start: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Calendar months (clipped to the period) covering [start, until)."""
    spans = []
    cursor = start
    while cursor < until:
        year, month = (
            (cursor.year + 1, 1) if cursor.month == 12 else (cursor.year, cursor.month + 1)
        )
        following = datetime(year, month, 1, tzinfo=UTC)
        spans.append((cursor, min(following, until)))
        cursor = following
    return spans


def _exposure_row(v: ExposureVersion) -> dict[str, Any]:
    return {
        "id": v.exposure_id,
        "host": v.host.hostname,
        "fleet": v.fleet.slug,
        "advisory": f"{v.advisory.source}:{v.advisory.external_id}",
        "title": v.advisory.title,
        "package": v.package_name,
        "version": v.package.version,
        "tier": v.tier,
        "published_at": v.published_at,
        "fix_available_at": v.fix_available_at,
        "kev_added_at": v.kev_added_at,
        "kev_due_at": v.kev_due_at,
        "detected_at": v.detected_at,
        "window_start": v.window_start,
        "fixed_at": v.fixed_at,
        "due_at": v.due_at,
        "closed_reason": v.closed_reason,
    }


def _table(query: Any) -> Table:
    total = query.count()
    rows = [
        _exposure_row(v)
        for v in query.select_related("host", "fleet", "advisory", "package")[:ROWS_SHOWN]
    ]
    return Table(rows, total)


def _monthly(evaluated: Evaluated, packet: AuditPacket) -> list[tuple[str, TimelineFigures]]:
    facts = evaluated.facts
    return [
        (
            f"{begin:%b %Y}",
            timeline_figures(
                facts.access,
                fleet=packet.fleet,
                start=begin,
                end=until,
                now=evaluated.as_of,
                known_at=evaluated.known_at,
            ),
        )
        for begin, until in months_between(evaluated.start, evaluated.as_of)
    ]


def charts_for(
    figures: TimelineFigures, monthly: Sequence[tuple[str, TimelineFigures | PeriodTrend]]
) -> dict[str, Chart]:
    tiers = [t.tier or "none" for t in figures.tiers]
    charts = {
        "open_by_tier": bar_chart(
            title="Open exposures at the end of the period, by tier",
            categories=tiers,
            series=[
                Series("Open, within SLA", tuple(float(t.open - t.overdue) for t in figures.tiers)),
                Series("Overdue", tuple(float(t.overdue) for t in figures.tiers)),
                Series("Excepted", tuple(float(t.excepted) for t in figures.tiers)),
            ],
            stacked=True,
        ),
        "in_sla_trend": line_chart(
            title="Exposures fixed within SLA, per month (%)",
            x_labels=[label for label, _f in monthly],
            series=[
                Series(
                    "In SLA",
                    tuple(
                        (100.0 * sum(t.sla_met for t in f.tiers) / counted)
                        if (counted := sum(t.sla_counted for t in f.tiers))
                        else None
                        for _label, f in monthly
                    ),
                )
            ],
            unit="%",
            y_max=100,
        ),
        "burn_down": bar_chart(
            title="Open exposures at each month's end",
            categories=[label for label, _f in monthly],
            series=[
                Series(
                    "Open", tuple(float(f.open_at_end - f.excepted_at_end) for _l, f in monthly)
                ),
                Series("Excepted", tuple(float(f.excepted_at_end) for _l, f in monthly)),
            ],
            stacked=True,
        ),
    }
    lags = [(distro or "(none)", d.p90_days) for distro, d in figures.upstream_lag]
    lags.append(("Deployment lag (all)", figures.deployment_lag.p90_days))
    charts["lags"] = hbar_chart(
        title="Upstream lag by distribution vs deployment lag, p90 (days)",
        labels=[label for label, _v in lags],
        values=[value for _l, value in lags],
        unit="days",
    )
    return charts


def _frameworks(catalog: Catalog, results: dict[str, AssessmentResult]) -> list[dict[str, Any]]:
    sections = []
    for framework_id, heading in FRAMEWORK_SECTIONS:
        if framework_id not in catalog.frameworks:
            continue
        framework = catalog.frameworks[framework_id]
        nodes = []
        for node, mapped in catalog.controls_for(framework_id):
            controls = [
                {"mapping": mapping, "control": control, "result": results.get(control.id)}
                for mapping, control in mapped
            ]
            nodes.append({"node": node, "controls": controls})
        sections.append(
            {"id": framework_id, "heading": heading, "framework": framework, "nodes": nodes}
        )
    return sections


def _documents(evaluated: Evaluated) -> list[dict[str, Any]]:
    """The SBOM documents the figures rest on: every snapshot taken in the period, and each
    host's last one before it (its state at the start)."""
    facts = evaluated.facts
    names = {h.pk: h.hostname for h in facts.hosts}
    used = []
    for host_id, snapshots in sorted(facts.snapshots.items(), key=lambda item: names[item[0]]):
        before = [s for s in snapshots if s.taken_at < facts.start]
        inside = [s for s in snapshots if s.taken_at >= facts.start]
        for snap in before[-1:] + inside:
            used.append(
                {
                    "sha256": snap.sha256,
                    "host": names[host_id],
                    "snapshot_at": snap.taken_at,
                    "received_at": snap.received_at,
                    "ntia_completeness": snap.ntia_completeness,
                }
            )
    return used


def _hosts(evaluated: Evaluated) -> Table:
    facts = evaluated.facts
    rows = []
    for host in facts.hosts:
        snapshots = facts.snapshots.get(host.pk, [])
        newest = snapshots[-1] if snapshots else None
        rows.append(
            {
                "hostname": host.hostname,
                "fleet": host.fleet.slug,
                "first_seen_at": host.first_seen_at,
                "snapshots": len([s for s in snapshots if s.taken_at >= facts.start]),
                "last_snapshot_at": newest.taken_at if newest else None,
                "ntia_completeness": newest.ntia_completeness if newest else None,
                "sha256": newest.sha256 if newest else "",
            }
        )
    return Table(rows[:ROWS_SHOWN], len(rows))


def _feed_runs(evaluated: Evaluated) -> list[dict[str, Any]]:
    """Feed runs that finished in the period, and each source's last one before it."""
    facts = evaluated.facts
    finished = Q(finished_at__lte=min(facts.as_of, facts.known_at))
    in_period = FeedRun.objects.filter(finished, finished_at__gte=facts.start)
    last_before = (
        FeedRun.objects.filter(
            finished_at__lt=facts.start, status__in=(RunStatus.OK, RunStatus.PARTIAL)
        )
        .values("source_id")
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    runs = (
        FeedRun.objects.filter(Q(pk__in=in_period.values("pk")) | Q(pk__in=list(last_before)))
        .filter(finished)
        .select_related("source")
        .order_by("source__slug", "finished_at", "pk")
    )
    return [
        {
            "id": run.pk,
            "source": run.source.slug,
            "status": run.status,
            "location": run.location,
            "sha256": run.sha256,
            "fetched_at": run.fetched_at,
            "finished_at": run.finished_at,
            "advisories": run.advisories_created + run.advisories_updated,
            "records_failed": run.records_failed,
        }
        for run in runs
    ]


def _feed_sources(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_source: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_source.setdefault(run["source"], []).append(run)
    return [
        {
            "source": source,
            "runs": len(rows),
            "failed": sum(1 for r in rows if r["status"] == RunStatus.FAILED),
            "partial": sum(1 for r in rows if r["status"] == RunStatus.PARTIAL),
            "first": rows[0]["finished_at"],
            "last": rows[-1]["finished_at"],
            "last_sha256": rows[-1]["sha256"],
        }
        for source, rows in sorted(by_source.items())
    ]


def _exceptions(evaluated: Evaluated, packet: AuditPacket) -> Table:
    facts = evaluated.facts
    query = RiskException.objects.filter(
        organization=packet.organization,
        approved_at__isnull=False,
        approved_at__lte=facts.as_of,
        expires_at__gt=facts.start,
    ).filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=facts.start))
    if packet.fleet_id:
        query = query.filter(fleet_id=packet.fleet_id)
    in_force = set(
        RiskException.objects.filter(exceptions_in_force(facts.as_of)).values_list("pk", flat=True)
    )
    rows = [
        {
            "id": e.pk,
            "fleet": e.fleet.slug,
            "covers": (
                f"exposure {e.exposure_id}" if e.exposure_id else f"{e.advisory} across the fleet"
            ),
            "justification": e.justification,
            "compensating_controls": e.compensating_controls,
            "requested_by": e.requested_by.get_username(),
            "requested_at": e.requested_at,
            "approved_by": e.approved_by.get_username() if e.approved_by else "",
            "approved_at": e.approved_at,
            "expires_at": e.expires_at,
            "revoked_at": e.revoked_at if e.revoked_at and e.revoked_at <= facts.as_of else None,
            "in_force_at_end": e.pk in in_force,
        }
        for e in query.select_related("fleet", "advisory", "requested_by", "approved_by").order_by(
            "expires_at", "pk"
        )
    ]
    return Table(rows[:ROWS_SHOWN], len(rows))


def _fleets(evaluated: Evaluated, packet: AuditPacket) -> list[dict[str, Any]]:
    hosts = Counter(h.fleet_id for h in evaluated.facts.hosts)
    query = Fleet.objects.filter(organization=packet.organization)
    if packet.fleet_id:
        query = query.filter(pk=packet.fleet_id)
    return [
        {
            "name": f.name,
            "slug": f.slug,
            "distribution": f.get_distribution_display(),
            "environment": f.get_environment_display(),
            "personal_data": f.processes_personal_data,
            "internet_exposed": f.internet_exposed,
            "sla_profile": f.sla_profile,
            "hosts": hosts.get(f.pk, 0),
        }
        for f in query.order_by("name", "pk")
    ]


def _profiles(evaluated: Evaluated) -> list[dict[str, Any]]:
    used = sorted({h.fleet.sla_profile for h in evaluated.facts.hosts} or {"balanced"})
    found = []
    for slug in used:
        profile = profile_load(slug)
        found.append({"profile": profile, "digest": profile_digest(profile)})
    return found


def packet_gather(*, packet: AuditPacket, now: datetime | None = None) -> PacketData:
    """Everything the packet shows (reads only)."""
    evaluated = controls_evaluate(
        organization=packet.organization,
        fleet=packet.fleet,
        period_start=packet.period_start,
        period_end=packet.period_end,
        now=now,
    )
    facts = evaluated.facts
    figures = facts.figures
    monthly = _monthly(evaluated, packet)
    versions = facts.versions
    overdue = (
        facts.open_at_end.exclude(facts.covered())
        .filter(due_at__lt=facts.as_of)
        .order_by("due_at", "exposure_id")
    )
    late = versions.filter(
        fixed_at__gte=facts.start, fixed_at__lt=facts.as_of, due_at__lt=F("fixed_at")
    ).order_by("fixed_at", "exposure_id")
    kev = versions.filter(
        Q(kev_added_at__lt=facts.as_of)
        & Q(window_start__lt=facts.as_of)
        & (Q(fixed_at__isnull=True) | Q(fixed_at__gte=facts.start))
    ).order_by("kev_due_at", "exposure_id")
    results = {r.control_id: r for r in evaluated.results}
    documents = _documents(evaluated)
    feed_runs = _feed_runs(evaluated)
    data = PacketData(
        packet=packet,
        evaluated=evaluated,
        figures={},
        charts=charts_for(figures, monthly),
        frameworks=_frameworks(evaluated.catalog, results),
        assessments=evaluated.results,
        controls=[
            {"control": evaluated.catalog.control(r.control_id), "result": r}
            for r in evaluated.results
        ],
        overdue=_table(overdue),
        late=_table(late),
        kev=_table(kev),
        exceptions=_exceptions(evaluated, packet),
        hosts=_hosts(evaluated),
        documents=documents,
        feed_runs=feed_runs,
        feed_sources=_feed_sources(feed_runs),
        profiles=_profiles(evaluated),
        fleets=_fleets(evaluated, packet),
        status_counts=dict(Counter(r.status for r in evaluated.results)),
    )
    data.figures = {
        "timeline": figures.as_dict(),
        "monthly": {
            label: f.as_dict()["counts"] | {"tiers": f.as_dict()["tiers"]} for label, f in monthly
        },
        "controls": {
            r.control_id: {"status": r.status, "metrics": {m["id"]: m["value"] for m in r.metrics}}
            for r in evaluated.results
        },
        "control_status_counts": dict(sorted(data.status_counts.items())),
        "tables": {
            "overdue": data.overdue.total,
            "fixed_late": data.late.total,
            "kev": data.kev.total,
            "exceptions": data.exceptions.total,
            "hosts": data.hosts.total,
            "sbom_documents": len(documents),
            "feed_runs": len(feed_runs),
        },
    }
    return data


STATUS_LABELS = (
    ("met", "Met"),
    ("partially_met", "Partially met"),
    ("not_met", "Not met"),
    ("insufficient_evidence", "Insufficient evidence"),
    ("not_applicable", "Not applicable"),
)


def summary_context(data: PacketData) -> dict[str, Any]:
    """The headline figures the cover and summary print, from `data.figures`."""
    tiers = data.figures["timeline"]["tiers"].values()
    counted = sum(t["sla_counted"] for t in tiers)
    met = sum(t["sla_met"] for t in tiers)
    metrics = data.figures["controls"].get("PTL-PATCH-01", {}).get("metrics", {})
    return {
        "status_labels": STATUS_LABELS,
        "sla_counted": counted,
        "sla_met": met,
        "in_sla": round(100 * met / counted, 1) if counted else None,
        "ttr_p50": metrics.get("ttr_p50_days"),
        "ttr_p90": metrics.get("ttr_p90_days"),
    }
