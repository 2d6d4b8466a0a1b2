"""The metrics and evidence conditions of the control catalog, computed from stored evidence.

Every function reads one `Facts` (a scope, a period and the moment the figures describe) and
returns a `Measure`: the value (None when there is nothing to measure, e.g. no exposure fell due)
and the evidence it was computed from (exposure ids, SBOM sha256s, feed run ids...). The
catalog (`evidence/controls/data/controls.yaml`) names these functions by id and says in words
what each counts; `METRICS` and `CONDITIONS` below are the implementations, and a test checks
the two agree.

As-of: everything is read as Patchproof knew it at `known_at` (exposures from their history,
SBOMs received by then, feed runs finished by then, evaluations and packets made by then), for
the state at `as_of` (the period's end, or now while it runs). Rebuilding the figures of a past
period later therefore gives the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import pairwise
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, Q, QuerySet

from evidence.models import (
    AuditPacket,
    CloseReason,
    ControlEvaluation,
    EvaluationStatus,
    ExposureVersion,
    FeedPayload,
    FeedRun,
    FeedSource,
    Fleet,
    Host,
    PacketStatus,
    RiskException,
    RunStatus,
    SbomDocument,
    SbomStatus,
    covers,
    exceptions_in_force,
)
from evidence.selectors import exposure_versions_visible, hosts_visible
from evidence.sla.profiles import profile_load
from evidence.timeline import TimelineFigures, percentile, timeline_figures
from portal.accounts.access import Access
from portal.accounts.audit import audit_verify

REFS_KEPT = 200  # evidence references stored per kind (the count is always complete)
URGENT_TIER_DAYS = 14  # tiers this short are the fast track (Balanced P0/P1, BOD D3/D14, CE)
_DAY = 86400.0
_EXCLUDED = (CloseReason.NOT_AFFECTED, CloseReason.EXCEPTION)
_FEED_OK = (RunStatus.OK, RunStatus.PARTIAL)


@dataclass
class Measure:
    value: float | None
    evidence: dict[str, list[Any]] = field(default_factory=dict)
    detail: str = ""  # said in the rationale, e.g. which hosts are missing


@dataclass
class Snapshot:
    document_id: int
    sha256: str
    taken_at: datetime
    received_at: datetime
    ntia_completeness: float | None


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / _DAY, 2)


class Facts:
    """The evidence of one scope and period, read once and shared by every metric."""

    def __init__(
        self,
        *,
        access: Access,
        fleet: Fleet | None,
        start: datetime,
        end: datetime,
        as_of: datetime,
        known_at: datetime,
        params: dict[str, float],
        exclude_evaluation_id: int | None = None,
    ) -> None:
        self.access = access
        self.fleet = fleet
        self.start = start
        self.end = end
        self.as_of = as_of
        self.known_at = known_at
        self.params = params
        self.exclude_evaluation_id = exclude_evaluation_id

    # -- hosts and their snapshots ------------------------------------------------------------

    @cached_property
    def hosts(self) -> list[Host]:
        """The scope's hosts that existed at `as_of` as known at `known_at`: registered by
        then (a host is registered when its first SBOM arrives)."""
        query = hosts_visible(self.access).filter(created_at__lte=min(self.as_of, self.known_at))
        if self.fleet is not None:
            query = query.filter(fleet=self.fleet)
        return list(query.order_by("hostname", "pk"))

    @cached_property
    def snapshots(self) -> dict[int, list[Snapshot]]:
        """Ingested snapshots taken before `as_of` and received by `known_at`, per host, oldest
        first."""
        found: dict[int, list[Snapshot]] = defaultdict(list)
        rows = SbomDocument.objects.filter(
            host__in=[h.pk for h in self.hosts],
            status=SbomStatus.INGESTED,
            snapshot_at__lt=self.as_of,
            received_at__lte=self.known_at,
        ).values_list("host_id", "pk", "sha256", "snapshot_at", "received_at", "ntia_completeness")
        for host_id, pk, sha256, taken, received, ntia in rows.iterator(chunk_size=5000):
            if host_id is not None and taken is not None:  # filtered above; for the type checker
                found[host_id].append(Snapshot(pk, sha256, taken, received, ntia))
        for values in found.values():
            values.sort(key=lambda s: (s.taken_at, s.document_id))
        return found

    def newest(self, host: Host) -> Snapshot | None:
        values = self.snapshots.get(host.pk)
        return values[-1] if values else None

    # -- exposures ----------------------------------------------------------------------------

    @cached_property
    def figures(self) -> TimelineFigures:
        return timeline_figures(
            self.access,
            fleet=self.fleet,
            start=self.start,
            end=self.end,
            now=self.as_of,
            stale_after=timedelta(days=self.params["inventory_max_age_days"]),
            known_at=self.known_at,
        )

    @cached_property
    def versions(self) -> QuerySet[ExposureVersion]:
        """The scope's exposures as known at `known_at`, closed as not affected or by an
        exception left out (as in the timeline figures)."""
        query = exposure_versions_visible(self.access, known_at=self.known_at)
        if self.fleet is not None:
            query = query.filter(fleet=self.fleet)
        return query.exclude(closed_reason__in=_EXCLUDED)

    def covered(self) -> Exists:
        """An exception in force at `as_of` covers the exposure version (annotation)."""
        return Exists(
            RiskException.objects.filter(exceptions_in_force(self.as_of)).filter(
                covers("exposure_id")
            )
        )

    @cached_property
    def open_at_end(self) -> QuerySet[ExposureVersion]:
        return self.versions.filter(
            Q(window_start__lt=self.as_of)
            & (Q(fixed_at__isnull=True) | Q(fixed_at__gte=self.as_of))
        )

    # -- feeds --------------------------------------------------------------------------------

    @cached_property
    def feeds(self) -> list[tuple[FeedSource, FeedRun | None]]:
        """The sources in use with their last successful run finished by `as_of`: the ones
        that had a successful run by then, and, for a period still running (`as_of` is now),
        the enabled ones too. (Whether a source was enabled in the past is not recorded, so a
        past period counts what actually ran: rebuilding it later gives the same figures.)"""
        finished = Q(status__in=_FEED_OK, finished_at__lte=min(self.as_of, self.known_at))
        running = self.as_of < self.end  # the period has not ended: as_of is now
        result = []
        for source in FeedSource.objects.order_by("slug"):
            last = source.runs.filter(finished).order_by("-finished_at", "-pk").first()
            if last is not None or (running and source.enabled):
                result.append((source, last))
        return result

    def feed_stale(self, run: FeedRun | None) -> bool:
        if run is None or run.finished_at is None:
            return True
        return self.as_of - run.finished_at > timedelta(hours=self.params["feed_max_age_hours"])


def refs(values: list[Any]) -> list[Any]:
    """Evidence references, all of them: the stored assessment keeps the count of all and the
    first REFS_KEPT (evidence.controls.evaluate)."""
    return list(values)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


# -- evidence conditions ----------------------------------------------------------------------


def _cond_hosts(facts: Facts) -> tuple[bool, str]:
    count = len(facts.hosts)
    return count > 0, f"{count} host(s) in scope" if count else "no host in scope"


def _cond_inventory_fresh(facts: Facts) -> tuple[bool, str]:
    limit = facts.as_of - timedelta(days=facts.params["inventory_max_age_days"])
    stale = [
        h.hostname for h in facts.hosts if (s := facts.newest(h)) is None or s.taken_at < limit
    ]
    if not stale:
        return True, "every host has a snapshot within the inventory age limit"
    shown = ", ".join(stale[:10]) + (" ..." if len(stale) > 10 else "")
    days = facts.params["inventory_max_age_days"]
    return False, f"{len(stale)} host(s) without a snapshot in the last {days:g} days: {shown}"


def _cond_feeds_fresh(facts: Facts) -> tuple[bool, str]:
    stale = [source.slug for source, run in facts.feeds if facts.feed_stale(run)]
    if not facts.feeds:
        return False, "no advisory feed is in use"
    if stale:
        return False, f"stale advisory feed(s): {', '.join(stale)}"
    return True, "every advisory feed in use synced within the age limit"


def _cond_feeds_ran(facts: Facts) -> tuple[bool, str]:
    ran = [source.slug for source, run in facts.feeds if run is not None]
    if ran:
        return True, f"feeds with a successful run: {', '.join(ran)}"
    return False, "no advisory feed had a successful run by then"


def _source_run(facts: Facts, slug: str) -> FeedRun | None:
    return next((run for source, run in facts.feeds if source.slug == slug), None)


def _cond_kev_feed(facts: Facts) -> tuple[bool, str]:
    run = _source_run(facts, "kev")
    if run is None:
        return False, "the CISA KEV catalog was never synced"
    if facts.feed_stale(run):
        return False, f"the CISA KEV catalog was last synced {run.finished_at:%Y-%m-%d %H:%M} UTC"
    return True, f"CISA KEV synced {run.finished_at:%Y-%m-%d %H:%M} UTC"


def _cond_retired_feed(facts: Facts) -> tuple[bool, str]:
    run = _source_run(facts, "retired")
    if run is None:
        return False, "no retired-package / end-of-life list was loaded"
    return True, f"retired-package lists loaded {run.finished_at:%Y-%m-%d} UTC"


CONDITIONS: dict[str, Callable[[Facts], tuple[bool, str]]] = {
    "hosts": _cond_hosts,
    "inventory_fresh": _cond_inventory_fresh,
    "feeds_fresh": _cond_feeds_fresh,
    "feeds_ran": _cond_feeds_ran,
    "kev_feed": _cond_kev_feed,
    "retired_feed": _cond_retired_feed,
}


# -- inventory --------------------------------------------------------------------------------


def hosts_reporting_ratio(facts: Facts) -> Measure:
    limit = facts.as_of - timedelta(days=facts.params["inventory_max_age_days"])
    fresh = [h for h in facts.hosts if (s := facts.newest(h)) is not None and s.taken_at >= limit]
    fresh_ids = {h.pk for h in fresh}
    missing = [h.hostname for h in facts.hosts if h.pk not in fresh_ids]
    return Measure(
        _ratio(len(fresh), len(facts.hosts)),
        {"hosts": refs([h.pk for h in facts.hosts])},
        f"not reporting: {', '.join(missing[:10])}" if missing else "",
    )


def inventory_age_days_max(facts: Facts) -> Measure:
    newest = [(h, s) for h in facts.hosts if (s := facts.newest(h)) is not None]
    if not newest:
        return Measure(None)
    host, snap = min(newest, key=lambda item: item[1].taken_at)
    return Measure(
        _days(facts.as_of - snap.taken_at),
        {"sbom_documents": [snap.sha256]},
        f"oldest inventory: {host.hostname}, snapshot {snap.taken_at:%Y-%m-%d %H:%M} UTC",
    )


def hosts_with_ledger_ratio(facts: Facts) -> Measure:
    have = [h for h in facts.hosts if facts.snapshots.get(h.pk)]
    missing = [h.hostname for h in facts.hosts if not facts.snapshots.get(h.pk)]
    return Measure(
        _ratio(len(have), len(facts.hosts)),
        {"hosts": refs([h.pk for h in have])},
        f"no package inventory: {', '.join(missing[:10])}" if missing else "",
    )


def rejected_sboms(facts: Facts) -> Measure:
    rows = list(
        SbomDocument.objects.filter(
            organization=facts.access.organization,
            status=SbomStatus.REJECTED,
            received_at__gte=facts.start,
            received_at__lt=facts.as_of,
            received_at__lte=facts.known_at,
            **({"fleet": facts.fleet} if facts.fleet else {}),
        ).values_list("sha256", flat=True)
    )
    return Measure(len(rows), {"sbom_documents": refs(rows)})


def _retired_open(facts: Facts) -> QuerySet[ExposureVersion]:
    return facts.open_at_end.filter(advisory__source="retired")


def retired_open_unexcepted(facts: Facts) -> Measure:
    ids = list(_retired_open(facts).exclude(facts.covered()).values_list("exposure_id", flat=True))
    return Measure(len(ids), {"exposures": refs(sorted(ids))})


def eol_hosts(facts: Facts) -> Measure:
    hosts = sorted(
        set(
            _retired_open(facts)
            .filter(advisory__kind="end-of-life")
            .values_list("host__hostname", flat=True)
        )
    )
    return Measure(len(hosts), {"hosts": refs(hosts)})


# -- advisory intake and assessment cadence ---------------------------------------------------


def stale_feeds(facts: Facts) -> Measure:
    stale = [source.slug for source, run in facts.feeds if facts.feed_stale(run)]
    runs = [run.pk for _source, run in facts.feeds if run is not None]
    return Measure(len(stale), {"feed_runs": runs}, f"stale: {', '.join(stale)}" if stale else "")


def feed_age_hours_max(facts: Facts) -> Measure:
    ages = [
        ((facts.as_of - run.finished_at).total_seconds() / 3600, source.slug)
        for source, run in facts.feeds
        if run is not None and run.finished_at is not None
    ]
    if not ages:
        return Measure(None)
    age, slug = max(ages)
    return Measure(round(age, 1), {}, f"oldest: {slug}")


def _assessment_gaps(facts: Facts) -> dict[int, float]:
    """Per host, the longest stretch of the period without a new snapshot, in days."""
    gaps: dict[int, float] = {}
    for host in facts.hosts:
        times = [s.taken_at for s in facts.snapshots.get(host.pk, [])]
        # Watched from its first known snapshot (or its registration), not from the period's
        # start if it came later.
        began = min(max(facts.start, times[0] if times else host.created_at), facts.as_of)
        before = [t for t in times if t < facts.start]
        inside = [t for t in times if facts.start <= t < facts.as_of]
        points = ([before[-1]] if before else [began]) + inside + [facts.as_of]
        gaps[host.pk] = max(_days(b - a) for a, b in pairwise(points))
    return gaps


def assessment_gap_days_max(facts: Facts) -> Measure:
    gaps = _assessment_gaps(facts)
    if not gaps:
        return Measure(None)
    worst = max(gaps, key=lambda pk: gaps[pk])
    name = next(h.hostname for h in facts.hosts if h.pk == worst)
    return Measure(gaps[worst], {"hosts": [worst]}, f"longest gap: {name}")


def hosts_assessed_ratio(facts: Facts) -> Measure:
    assessed = [
        h
        for h in facts.hosts
        if any(facts.start <= s.taken_at < facts.as_of for s in facts.snapshots.get(h.pk, []))
    ]
    return Measure(
        _ratio(len(assessed), len(facts.hosts)), {"hosts": refs([h.pk for h in assessed])}
    )


# -- remediation ------------------------------------------------------------------------------


def in_sla_ratio(facts: Facts) -> Measure:
    counted = sum(t.sla_counted for t in facts.figures.tiers)
    met = sum(t.sla_met for t in facts.figures.tiers)
    late = list(
        facts.versions.filter(
            Q(due_at__lt=facts.as_of)
            & (Q(due_at__gte=facts.start) | Q(window_start__gte=facts.start))
            & (Q(fixed_at__isnull=True) | Q(fixed_at__gt=F("due_at")))
            & Q(window_start__lt=facts.as_of)
        ).values_list("exposure_id", flat=True)
    )
    return Measure(
        _ratio(met, counted),
        {"exposures": refs(sorted(late))},
        f"{met} of {counted} exposure(s) due in the period met their SLA" if counted else "",
    )


def _urgent_tiers(facts: Facts) -> set[tuple[str, str]]:
    """(profile, tier) pairs whose deadline is URGENT_TIER_DAYS or shorter."""
    urgent = set()
    for profile_slug in set(facts.versions.values_list("sla_profile", flat=True)):
        try:
            profile = profile_load(profile_slug)
        except (LookupError, ValueError):
            continue
        urgent |= {
            (profile_slug, t.id)
            for t in profile.tiers
            if t.days is not None and t.days <= URGENT_TIER_DAYS
        }
    return urgent


def _overdue(facts: Facts) -> QuerySet[ExposureVersion]:
    return facts.open_at_end.exclude(facts.covered()).filter(due_at__lt=facts.as_of)


def p0_p1_overdue_open(facts: Facts) -> Measure:
    urgent = _urgent_tiers(facts)
    ids = sorted(
        pk
        for pk, profile, tier in _overdue(facts).values_list("exposure_id", "sla_profile", "tier")
        if (profile, tier) in urgent
    )
    return Measure(len(ids), {"exposures": refs(ids)})


def overdue_open(facts: Facts) -> Measure:
    ids = sorted(_overdue(facts).values_list("exposure_id", flat=True))
    return Measure(len(ids), {"exposures": refs(ids)})


def _remediation_days(facts: Facts) -> list[timedelta]:
    rows = facts.versions.filter(
        fixed_at__gte=facts.start, fixed_at__lt=facts.as_of, fix_available_at__isnull=False
    ).values_list("window_start", "fix_available_at", "fixed_at")
    return [
        max(fixed - max(fix, began), timedelta(0))
        for began, fix, fixed in rows
        if fixed is not None and fix is not None  # filtered above; for the type checker
    ]


def ttr_p50_days(facts: Facts) -> Measure:
    value = percentile(_remediation_days(facts), 50)
    return Measure(None if value is None else _days(value))


def ttr_p90_days(facts: Facts) -> Measure:
    value = percentile(_remediation_days(facts), 90)
    return Measure(None if value is None else _days(value))


def kev_open_past_due(facts: Facts) -> Measure:
    ids = sorted(
        facts.open_at_end.exclude(facts.covered())
        .filter(kev_added_at__lt=facts.as_of, kev_due_at__lt=facts.as_of)
        .values_list("exposure_id", flat=True)
    )
    return Measure(len(ids), {"exposures": refs(ids)})


def kev_in_due_ratio(facts: Facts) -> Measure:
    """KEV exposures judged once, like the SLA share: met when fixed in the period by the
    earlier of KEV's due date and the SLA due date; missed when that deadline passed in the
    period unfixed (or fixed later)."""
    met = missed = 0
    late: list[int] = []
    rows = facts.versions.filter(
        kev_added_at__lt=facts.as_of, window_start__lt=facts.as_of
    ).values_list("exposure_id", "window_start", "fixed_at", "kev_due_at", "due_at")
    for pk, began, fixed, kev_due, due in rows:
        deadlines = [d for d in (kev_due, due) if d is not None]
        if not deadlines:
            continue
        deadline = min(deadlines)
        if fixed is not None and fixed <= deadline:
            if facts.start <= fixed < facts.as_of:
                met += 1
        elif facts.start <= max(deadline, began) < facts.as_of and deadline < facts.as_of:
            missed += 1
            late.append(pk)
    return Measure(_ratio(met, met + missed), {"exposures": refs(sorted(late))})


# -- exceptions and no-fix exposures ----------------------------------------------------------


def overdue_covered_ratio(facts: Facts) -> Measure:
    overdue = facts.open_at_end.filter(due_at__lt=facts.as_of)
    total = overdue.count()
    covered = list(overdue.filter(facts.covered()).values_list("exposure_id", flat=True))
    return Measure(_ratio(len(covered), total), {"exposures": refs(sorted(covered))})


def _exceptions(facts: Facts) -> QuerySet[RiskException]:
    query = RiskException.objects.filter(
        exceptions_in_force(facts.as_of), organization=facts.access.organization
    )
    if facts.fleet is not None:
        query = query.filter(fleet=facts.fleet)
    elif facts.access.fleet_id is not None:
        query = query.filter(fleet_id=facts.access.fleet_id)
    return query


def long_exceptions(facts: Facts) -> Measure:
    limit = timedelta(days=facts.params["max_exception_days"])
    rows = _exceptions(facts).values_list("pk", "approved_at", "expires_at")
    long = sorted(pk for pk, approved, expires in rows if approved and expires - approved > limit)
    in_force = sorted(pk for pk, _a, _e in rows)
    return Measure(len(long), {"exceptions": refs(in_force)})


def _nofix(facts: Facts) -> QuerySet[ExposureVersion]:
    return facts.open_at_end.filter(fix_available_at__isnull=True).exclude(
        advisory__source="retired"
    )


def nofix_open(facts: Facts) -> Measure:
    ids = sorted(_nofix(facts).values_list("exposure_id", flat=True))
    return Measure(len(ids), {"exposures": refs(ids)})


def nofix_unreviewed(facts: Facts) -> Measure:
    limit = facts.as_of - timedelta(days=facts.params["nofix_review_days"])
    ids = sorted(
        pk
        for pk, began, published in _nofix(facts)
        .exclude(facts.covered())
        .values_list("exposure_id", "window_start", "published_at")
        if max(began, published or began) < limit
    )
    return Measure(len(ids), {"exposures": refs(ids)})


def upstream_lag_p90_days(facts: Facts) -> Measure:
    worst = [(d.p90_days, distro) for distro, d in facts.figures.upstream_lag if d.p90_days]
    if not worst:
        return Measure(None)
    value, distro = max(worst)
    return Measure(value, {}, f"slowest distribution: {distro}")


# -- SBOMs, integrity, reporting --------------------------------------------------------------


def hosts_with_sbom_ratio(facts: Facts) -> Measure:
    fresh = [
        h
        for h in facts.hosts
        if any(facts.start <= s.received_at < facts.as_of for s in facts.snapshots.get(h.pk, []))
    ]
    return Measure(_ratio(len(fresh), len(facts.hosts)), {"hosts": refs([h.pk for h in fresh])})


def ntia_completeness_mean(facts: Facts) -> Measure:
    newest = [s for h in facts.hosts if (s := facts.newest(h)) is not None]
    scored = [s for s in newest if s.ntia_completeness is not None]
    if not scored:
        return Measure(None)
    mean = sum(s.ntia_completeness or 0.0 for s in scored) / len(scored)
    return Measure(round(mean, 4), {"sbom_documents": refs([s.sha256 for s in scored])})


def audit_chain_intact(facts: Facts) -> Measure:
    """The audit log as it stood at `known_at` still verifies. The log is shared by every
    organisation, so the detail names no event of anyone else."""
    report = audit_verify(until=facts.known_at)
    if report.ok:
        return Measure(1.0, {}, f"{report.events} events verified")
    return Measure(0.0, {}, f"{len(report.problems)} problem(s) in the audit log's hash chain")


def evidence_digest_ratio(facts: Facts) -> Measure:
    documents = [s.sha256 for values in facts.snapshots.values() for s in values]
    payloads = list(
        FeedPayload.objects.filter(runs__finished_at__lte=facts.known_at)
        .distinct()
        .values_list("sha256", flat=True)
    )
    items = documents + payloads
    with_digest = [d for d in items if d and len(d) == 64]
    return Measure(_ratio(len(with_digest), len(items)), {"sbom_documents": refs(documents)})


def retention_days(facts: Facts) -> Measure:
    return Measure(float(settings.EVIDENCE_RETENTION_DAYS), {}, "EVIDENCE_RETENTION_DAYS")


def _months(start: datetime, until: datetime) -> list[tuple[int, int]]:
    months = []
    year, month = start.year, start.month
    while datetime(year, month, 1, tzinfo=start.tzinfo) < until:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def reporting_months_ratio(facts: Facts) -> Measure:
    months = _months(facts.start, facts.as_of)
    # Completed (finished) in the period and by `known_at`: a report finished later does not
    # count for the past, whenever it was requested.
    made = Q(finished_at__gte=facts.start, finished_at__lt=facts.as_of) & Q(
        finished_at__lte=facts.known_at, organization=facts.access.organization
    )
    evaluations = ControlEvaluation.objects.filter(made, status=EvaluationStatus.DONE)
    if facts.exclude_evaluation_id is not None:
        evaluations = evaluations.exclude(pk=facts.exclude_evaluation_id)
    stamps = list(evaluations.values_list("finished_at", flat=True)) + list(
        AuditPacket.objects.filter(made, status=PacketStatus.DONE).values_list(
            "finished_at", flat=True
        )
    )
    covered = {(s.year, s.month) for s in stamps if s is not None}
    return Measure(
        _ratio(len([m for m in months if m in covered]), len(months)),
        {},
        f"{len(covered & set(months))} of {len(months)} month(s) with a report",
    )


METRICS: dict[str, Callable[[Facts], Measure]] = {
    fn.__name__: fn
    for fn in (
        hosts_reporting_ratio,
        inventory_age_days_max,
        hosts_with_ledger_ratio,
        rejected_sboms,
        retired_open_unexcepted,
        eol_hosts,
        stale_feeds,
        feed_age_hours_max,
        assessment_gap_days_max,
        hosts_assessed_ratio,
        in_sla_ratio,
        p0_p1_overdue_open,
        overdue_open,
        ttr_p50_days,
        ttr_p90_days,
        kev_open_past_due,
        kev_in_due_ratio,
        overdue_covered_ratio,
        long_exceptions,
        nofix_open,
        nofix_unreviewed,
        upstream_lag_p90_days,
        hosts_with_sbom_ratio,
        ntia_completeness_mean,
        audit_chain_intact,
        evidence_digest_ratio,
        retention_days,
        reporting_months_ratio,
    )
}
