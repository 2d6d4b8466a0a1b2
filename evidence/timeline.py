"""Timeline figures for one period: the numbers dashboards and audit packets show.

`timeline_figures(access, fleet=..., start=..., end=...)` reads the exposures and hosts the
`Access` may see (optionally one fleet) and summarises the period `[start, end)`;
`timeline_overview_begin` adds, for trend charts, a few of those figures for more periods,
counted in the same scan of the exposures (evidence.timeline_counts counts the windows).

Clocks and boundaries
---------------------
* The figures are taken as of ``as_of = min(end, now)``: a period that has not ended yet is
  measured up to `now`, so nothing is called overdue or stale ahead of time. Every period
  figure covers ``[start, as_of)``: an event exactly at `start` is in it, one exactly at
  `as_of` is not (it belongs to the next period).
* "Open at the end" is the state at the close of the period, just before `as_of`: the window
  started before `as_of` (``window_start < as_of``) and was not fixed before it (``fixed_at``
  empty or ``>= as_of``). An exposure fixed exactly at `end` is therefore still open at the end
  of this period and counts as fixed in the next one, so the window counts reconcile:
  ``open_at_start + opened - fixed == open_at_end``.
* An open window is `excepted` at the end when a risk exception covering it (the exposure, or
  its advisory across the fleet) is in force at `as_of`, as `status_at(as_of)` has it; the
  others are `open`, and `overdue` when ``due_at < as_of``. So ``open_at_end`` (windows) is
  the sum of the tiers' `open` and `excepted`. An exception accepts a risk; it does not move
  the due date, so the SLA share below ignores it.
* Exposures closed as `not_affected` (VEX) or with the close reason `exception` are left out of
  every figure; the ones whose window overlaps the period are counted in
  `excluded_not_affected_or_excepted`. Any other exposure with a `fixed_at` is fixed
  (upgraded, removed, host retired), as in `ExposureQuerySet.with_status`.
* KEV exposures are those whose advisory entered the KEV catalog before `as_of`.
* Tiers are the stored SLA verdicts (the fleet's profile's tier ids); an exposure without a
  verdict is reported under the tier "".

Denominators (`counts`)
-----------------------
`fleets` and `hosts` of the scope (hosts: those that existed at `as_of`, see stale inventories);
`exposures`: windows overlapping the period (``window_start < as_of`` and not fixed before
`start`); `open_at_start` (``window_start < start``, not fixed before `start`), `opened`
(``start <= window_start < as_of``), `fixed` (``start <= fixed_at < as_of``), `open_at_end`,
`excepted_at_end`, `overdue_at_end`; `excluded_not_affected_or_excepted`.

Per-tier figures
----------------
* `open`, `overdue`, `excepted`: open at the end and not excepted, of those overdue, and
  open at the end under a risk exception.
* In SLA: every exposure with a due date gets its SLA verdict once, at one moment, and is
  counted in the period holding that moment: met when fixed on or before its due date
  (``fixed_at <= due_at``; the moment is `fixed_at`), missed otherwise (the moment is `due_at`,
  or `window_start` for a window that opened already past its due date). So `sla_counted` are
  the exposures fixed in the period on time (``start <= fixed_at < as_of``, ``fixed_at <=
  due_at``) plus those that fell due in the period unfixed (``start <= max(due_at,
  window_start) < as_of``, ``fixed_at`` empty or ``> due_at``), `sla_met` the former, and
  `sla_percent` is ``100 * sla_met / sla_counted`` rounded to 2 decimals. Every exposure is in
  exactly one period's share, so periods add up (a quarter's counts are its months' sums): a
  late fix is a miss where the due date passed, not again where the fix landed, and an early
  fix is a success where it landed, not again where its due date falls. Exposures with no due
  date that were fixed in the period or are open at the end are counted in `no_due_date`.
* Time to remediate: for the exposures fixed in the period, ``fixed_at - max(fix_available_at,
  window_start)`` in days: the clock starts when both the fix existed and the vulnerable
  version was on the host (one clock for every profile, whatever clock the SLA uses). A fix
  installed before its recorded availability counts as 0 days. Fixed exposures without a
  `fix_available_at` (no fix: the package was removed) are counted in
  `remediated_without_fix_date` instead.

Whole-scope figures
-------------------
* Upstream lag per distribution (`package_distro`): ``fix_available_at - published_at`` in
  days, once per (advisory, distribution) among the exposures with both dates whose window
  started before `as_of`, taking the latest `fix_available_at` of the group (the time every
  affected package the scope has was fixed upstream); a group is in the period when that fix
  date is. Negative when the fix shipped before the advisory was published.
* Deployment lag: for the exposures fixed in the period, ``fixed_at - max(fix_available_at,
  host.first_seen_at)`` in days (0 if negative; host first seen unknown: from the fix), like
  the API's `deployment_lag_days`; those without `fix_available_at` are counted apart.
* KEV: open (not excepted) at the end, of those past KEV's own due date
  (``kev_due_at < as_of``), and fixed in the period.
* Stale inventories: the scope's hosts that existed at `as_of` (created or first seen before
  it) whose newest ingested SBOM snapshot taken before `as_of` is older than
  ``as_of - stale_after`` (strictly), or that have none.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value
at rank ``ceil(p * n / 100)`` (1-based), so it is always an observed duration ("90% of fixes
took at most this long"). Durations are reported in days rounded to 2 decimals. No values:
percentiles and percentages are None and their counts 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.http import Http404
from django.utils import timezone

from evidence.models import (
    Fleet,
    Host,
    RiskException,
    SbomDocument,
    SbomStatus,
    exceptions_in_force,
)
from evidence.selectors import (
    exposure_versions_visible,
    exposures_visible,
    fleets_visible,
    hosts_visible,
)
from evidence.timeline_counts import EXCLUDED_REASONS, FIGURES, window_counts_begin
from portal.accounts.access import Access
from portal.read_ahead import read_ahead

_DAY_SECONDS = 86400


def percentile(values: Iterable[timedelta], p: int) -> timedelta | None:
    """The nearest-rank p-th percentile (0 < p <= 100) of `values`; None when there are none."""
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-p * len(ordered) // 100)  # ceil(p * n / 100) in integers
    return ordered[rank - 1]


def _days(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / _DAY_SECONDS, 2)


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 2)


@dataclass(frozen=True)
class Durations:
    """How many durations there were, and their nearest-rank p50 and p90 in days."""

    count: int
    p50_days: float | None
    p90_days: float | None

    @classmethod
    def of(cls, values: list[timedelta]) -> Durations:
        ordered = sorted(values)  # once: `percentile` sorts again, in linear time then
        return cls(len(ordered), _days(percentile(ordered, 50)), _days(percentile(ordered, 90)))

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "p50_days": self.p50_days, "p90_days": self.p90_days}


@dataclass(frozen=True)
class TierFigures:
    tier: str
    open: int
    overdue: int
    excepted: int
    sla_counted: int
    sla_met: int
    sla_percent: float | None
    no_due_date: int
    time_to_remediate: Durations
    remediated_without_fix_date: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "overdue": self.overdue,
            "excepted": self.excepted,
            "sla_counted": self.sla_counted,
            "sla_met": self.sla_met,
            "sla_percent": self.sla_percent,
            "no_due_date": self.no_due_date,
            "time_to_remediate": self.time_to_remediate.as_dict(),
            "remediated_without_fix_date": self.remediated_without_fix_date,
        }


@dataclass(frozen=True)
class StaleHost:
    host_id: int
    hostname: str
    fleet_slug: str
    last_snapshot_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        last = self.last_snapshot_at
        return {
            "host_id": self.host_id,
            "hostname": self.hostname,
            "fleet": self.fleet_slug,
            "last_snapshot_at": last.isoformat() if last else None,
        }


@dataclass(frozen=True)
class TimelineFigures:
    """The figures of one period (see the module docstring for every definition)."""

    fleet_slug: str | None
    start: datetime
    end: datetime
    as_of: datetime
    stale_before: datetime
    # Denominators.
    fleets: int
    hosts: int
    exposures: int  # windows overlapping [start, as_of)
    open_at_start: int
    opened: int
    fixed: int
    open_at_end: int  # windows, excepted or not
    excepted_at_end: int
    overdue_at_end: int
    excluded_not_affected_or_excepted: int
    # Figures.
    tiers: tuple[TierFigures, ...]
    upstream_lag: tuple[tuple[str, Durations], ...]  # (distribution, advisories' lags)
    deployment_lag: Durations
    deployment_lag_without_fix_date: int
    kev_open: int
    kev_open_past_kev_due: int
    kev_fixed: int
    stale_hosts: tuple[StaleHost, ...]

    def tier(self, tier: str) -> TierFigures | None:
        return next((t for t in self.tiers if t.tier == tier), None)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (datetimes as ISO 8601, tiers and distributions as keys)."""
        return {
            "period": {
                "fleet": self.fleet_slug,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "as_of": self.as_of.isoformat(),
                "days": _days(self.as_of - self.start),
                "stale_before": self.stale_before.isoformat(),
            },
            "counts": {
                "fleets": self.fleets,
                "hosts": self.hosts,
                "exposures": self.exposures,
                "open_at_start": self.open_at_start,
                "opened": self.opened,
                "fixed": self.fixed,
                "open_at_end": self.open_at_end,
                "excepted_at_end": self.excepted_at_end,
                "overdue_at_end": self.overdue_at_end,
                "excluded_not_affected_or_excepted": self.excluded_not_affected_or_excepted,
            },
            "tiers": {t.tier: t.as_dict() for t in self.tiers},
            "upstream_lag": {distro: lag.as_dict() for distro, lag in self.upstream_lag},
            "deployment_lag": {
                **self.deployment_lag.as_dict(),
                "without_fix_date": self.deployment_lag_without_fix_date,
            },
            "kev": {
                "open": self.kev_open,
                "open_past_kev_due": self.kev_open_past_kev_due,
                "fixed": self.kev_fixed,
            },
            "stale_inventories": {
                "count": len(self.stale_hosts),
                "hosts": [h.as_dict() for h in self.stale_hosts],
            },
        }


@dataclass(frozen=True)
class TierSla:
    """A tier's SLA verdicts in a period (as `TierFigures` counts them)."""

    tier: str
    sla_counted: int
    sla_met: int


@dataclass(frozen=True)
class PeriodTrend:
    """What a trend chart plots for one period, as `timeline_figures` counts it for that
    period: the windows open at its end (excepted or not), those excepted, and per tier the
    SLA verdicts that fell in it."""

    start: datetime
    end: datetime
    as_of: datetime
    open_at_end: int
    excepted_at_end: int
    tiers: tuple[TierSla, ...]


def _check_aware(**values: datetime) -> None:
    for name, value in values.items():
        if timezone.is_naive(value):
            raise ValueError(f"{name} must be timezone-aware")


def _check_period(
    access: Access, fleet: Fleet | None, start: datetime, end: datetime, now: datetime
) -> None:
    _check_aware(start=start, end=end, now=now)
    if start >= end:
        raise ValueError("the period must start before it ends")
    if now < start:
        raise ValueError("the period starts after now")
    if fleet is not None and (
        fleet.organization_id != access.organization.pk
        or (access.fleet_id is not None and access.fleet_id != fleet.pk)
    ):
        raise Http404


def _scope(
    access: Access, fleet: Fleet | None, known_at: datetime | None
) -> tuple[QuerySet[Any], str]:
    """The exposures counted (or, with `known_at`, their versions then) and the name of the
    field holding the exposure id."""
    scope: QuerySet[Any]
    if known_at is None:
        scope, exposure_ref = exposures_visible(access), "pk"
    else:
        _check_aware(known_at=known_at)
        scope, exposure_ref = exposure_versions_visible(access, known_at=known_at), "exposure_id"
    if fleet is not None:
        scope = scope.filter(fleet=fleet)
    return scope, exposure_ref


def _covered(access: Access, moments: list[datetime], exposure_ref: str) -> list[Q | None]:
    """For each moment, the condition "a risk exception in force then covers it" (`covers`) on
    the exposures (`exposure_ref` "pk") or their versions ("exposure_id"); None when none is in
    force then.

    It is spelled out from the organisation's exceptions (one query, a few rows) instead of a
    subquery PostgreSQL would run again for every exposure of every figure: that was most of
    the time of a figure. An exception is its fleet's organisation's (evidence.exceptions), so
    no other organisation's exception can cover these exposures.
    """
    flags = [f"in_force_{n}" for n in range(len(moments))]
    exceptions = list(
        RiskException.objects.filter(organization=access.organization)
        .filter(reduce(or_, (exceptions_in_force(moment) for moment in moments)))
        .annotate(
            **{
                flag: ExpressionWrapper(exceptions_in_force(moment), output_field=BooleanField())
                for flag, moment in zip(flags, moments, strict=True)
            }
        )
        .order_by("pk")
        .values_list("exposure_id", "exposure_ref", "advisory_id", "fleet_id", *flags)
    )
    conditions = []
    for n in range(len(moments)):
        ids: set[int] = set()
        advisories_of: dict[int, set[int]] = defaultdict(set)
        for exposure_id, ref, advisory_id, fleet_id, *in_force in exceptions:
            if not in_force[n]:
                continue
            ids |= {pk for pk in (exposure_id, ref) if pk is not None}
            if ref is None and advisory_id is not None:
                advisories_of[fleet_id].add(advisory_id)
        condition = Q(**{f"{exposure_ref}__in": sorted(ids)}) if ids else None
        for fleet_id, advisory_ids in sorted(advisories_of.items()):
            pair = Q(fleet_id=fleet_id, advisory_id__in=sorted(advisory_ids))
            condition = pair if condition is None else condition | pair
        conditions.append(condition)
    return conditions


def timeline_figures(
    access: Access,
    *,
    fleet: Fleet | None,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    stale_after: timedelta = timedelta(days=7),
    known_at: datetime | None = None,
) -> TimelineFigures:
    """The figures of `[start, end)` for what `access` may see, optionally one fleet of it.

    With `known_at`, only what Patchproof knew at that moment counts: the exposures as they
    were recorded then (their history, `ExposureVersion`) and the SBOM snapshots received by
    then, so the figures of a past period come out the same however much evidence arrived
    since (audit packets pass the period's end).

    Raises Http404 for a fleet the access may not see, ValueError for naive datetimes, an empty
    or reversed period, a period starting after `now`, or a negative `stale_after`.
    """
    now = now or timezone.now()
    return _figures_begin(access, fleet, start, end, now, stale_after, known_at, trend=[])()[0]


def timeline_overview_begin(
    access: Access,
    *,
    fleet: Fleet | None,
    start: datetime,
    end: datetime,
    trend: list[tuple[datetime, datetime]],
    now: datetime | None = None,
) -> Callable[[], tuple[TimelineFigures, list[PeriodTrend]]]:
    """`timeline_figures` of `[start, end)` and `timeline_trend` of the `trend` periods, the
    windows of both counted in one scan of the exposures (the organisation overview shows
    both), in two steps: this starts the reads and computes what it can, and returns the
    function that finishes them (waiting for the reads that run on connections of their own,
    portal.read_ahead), so that the caller can do other work meanwhile. Raises as those do,
    before returning."""
    now = now or timezone.now()
    return _figures_begin(access, fleet, start, end, now, timedelta(days=7), None, trend=trend)


def _figures_begin(
    access: Access,
    fleet: Fleet | None,
    start: datetime,
    end: datetime,
    now: datetime,
    stale_after: timedelta,
    known_at: datetime | None,
    *,
    trend: list[tuple[datetime, datetime]],
) -> Callable[[], tuple[TimelineFigures, list[PeriodTrend]]]:
    for begin, until in [(start, end), *trend]:
        _check_period(access, fleet, begin, until, now)
    if stale_after < timedelta(0):
        raise ValueError("stale_after must not be negative")
    as_of = min(end, now)

    scope, exposure_ref = _scope(access, fleet, known_at)
    hosts = hosts_visible(access)
    if fleet is not None:
        hosts = hosts.filter(fleet=fleet)
    counted = scope.exclude(closed_reason__in=EXCLUDED_REASONS)
    ends = [as_of, *(min(until, now) for _begin, until in trend)]
    # The window counts' scan first, then the fix durations and the upstream lag: where it can,
    # the database runs each on a connection of its own while this thread computes the other
    # figures (portal.read_ahead: inline when no helper is idle).
    counts_finish = window_counts_begin(
        scope,
        [
            (start, as_of),
            *((begin, until) for (begin, _u), until in zip(trend, ends[1:], strict=True)),
        ],
        _covered(access, ends, exposure_ref),
        summary_from=1,  # the trend's periods: `_trend` reads only the summary figures
    )
    fixes = counted.filter(fixed_at__gte=start, fixed_at__lt=as_of).order_by()
    if connection.vendor == "postgresql" and known_at is None:
        durations_finish = read_ahead(partial(_fix_durations_in_database, fixes))
    else:
        durations_finish = read_ahead(partial(_fix_durations, fixes, hosts, known_at, as_of))
    lag_finish = read_ahead(partial(_upstream_lag, scope, counted, start, as_of))
    stale_hosts = _stale_hosts(hosts, as_of, as_of - stale_after, known_at)
    host_count = _hosts_at(hosts, as_of, known_at).count()
    fleet_count = 1 if fleet is not None else _fleets_at(access, known_at)

    def finish() -> tuple[TimelineFigures, list[PeriodTrend]]:
        # What is left waits for the reads running on other connections.
        per_tier, *trend_counts = counts_finish()
        remediation, without_fix_date, deployment = durations_finish()
        upstream_lag = lag_finish()
        totals = {name: sum(row[name] for row in per_tier.values()) for name in FIGURES}

        empty = dict.fromkeys(
            ("open", "overdue", "excepted", "sla_counted", "sla_met", "no_due_date"), 0
        )
        shown = {t for t, row in per_tier.items() if row["open"] or row["excepted"]}
        shown |= {t for t, row in per_tier.items() if row["sla_counted"] or row["no_due_date"]}
        shown |= set(remediation) | set(without_fix_date)
        tiers = tuple(
            TierFigures(
                tier=tier,
                open=row["open"],
                overdue=row["overdue"],
                excepted=row["excepted"],
                sla_counted=row["sla_counted"],
                sla_met=row["sla_met"],
                sla_percent=_percent(row["sla_met"], row["sla_counted"]),
                no_due_date=row["no_due_date"],
                time_to_remediate=remediation.get(tier, _NO_DURATIONS),
                remediated_without_fix_date=without_fix_date.get(tier, 0),
            )
            for tier in sorted(shown)
            for row in [per_tier.get(tier, empty)]
        )

        figures = TimelineFigures(
            fleet_slug=fleet.slug if fleet is not None else None,
            start=start,
            end=end,
            as_of=as_of,
            stale_before=as_of - stale_after,
            fleets=fleet_count,
            hosts=host_count,
            exposures=totals["exposures"],
            open_at_start=totals["open_at_start"],
            opened=totals["opened"],
            fixed=totals["fixed"],
            open_at_end=totals["open_at_end"],
            excepted_at_end=totals["excepted"],
            overdue_at_end=totals["overdue"],
            excluded_not_affected_or_excepted=totals["excluded"],
            tiers=tiers,
            upstream_lag=upstream_lag,
            deployment_lag=deployment,
            deployment_lag_without_fix_date=sum(without_fix_date.values()),
            kev_open=totals["kev_open"],
            kev_open_past_kev_due=totals["kev_open_past_kev_due"],
            kev_fixed=totals["kev_fixed"],
            stale_hosts=stale_hosts,
        )
        return figures, _trend(trend, ends[1:], trend_counts)

    return finish


_NO_DURATIONS = Durations(0, None, None)


_FixDurations = tuple[dict[str, Durations], dict[str, int], Durations]


def _fix_durations_in_database(fixes: QuerySet[Any]) -> _FixDurations:
    """`_fix_durations` of the figures as they stand now, computed by PostgreSQL: its
    percentile_disc (`_Percentile`) instead of every fix of the period sent here to be sorted,
    most of the overview's time once. The figures are the same
    (tests/test_dashboard_queries.py compares the two)."""
    zero = timedelta(0)
    with_fix_date = Q(fix_available_at__isnull=False)
    remediation_time = Greatest(
        F("fixed_at") - Greatest("fix_available_at", "window_start"),
        Value(zero),
        output_field=DurationField(),
    )
    per_tier = (
        fixes.values("tier")
        .annotate(
            measured=Count("tier", filter=with_fix_date),
            unmeasured=Count("tier", filter=~with_fix_date),
            p50=_Percentile(50, remediation_time, filter=with_fix_date),
            p90=_Percentile(90, remediation_time, filter=with_fix_date),
        )
        .values_list("tier", "measured", "unmeasured", "p50", "p90")
    )
    remediation: dict[str, Durations] = {}
    without_fix_date: dict[str, int] = {}
    for tier, measured, unmeasured, p50, p90 in per_tier:
        if measured:
            remediation[tier] = Durations(measured, _days(p50), _days(p90))
        if unmeasured:
            without_fix_date[tier] = unmeasured
    # LEAST and GREATEST pass over an empty first sighting: the fix date alone counts.
    deployment_time = Greatest(
        Least(
            F("fixed_at") - F("fix_available_at"),
            F("fixed_at") - F("host__first_seen_at"),
            output_field=DurationField(),
        ),
        Value(zero),
        output_field=DurationField(),
    )
    lag = fixes.filter(with_fix_date).aggregate(
        n=Count("*"),
        p50=_Percentile(50, deployment_time),
        p90=_Percentile(90, deployment_time),
    )
    return (
        remediation,
        without_fix_date,
        Durations(lag["n"], _days(lag["p50"]), _days(lag["p90"])),
    )


def _fix_durations(
    fixes: QuerySet[Any], hosts: QuerySet[Host], known_at: datetime | None, as_of: datetime
) -> _FixDurations:
    """Of the period's fixes (`fixes`, already without the excluded ones): the time to
    remediate per tier, the number per tier without a fix date (no remediation or deployment
    time can be measured for those), and the deployment lag of them all. Time to remediate:
    fixed_at - max(fix available, window start); deployment lag: fixed_at - max(fix available,
    the host's first sighting, as known at `known_at`); both at least zero."""
    zero = timedelta(0)
    times: dict[str, list[timedelta]] = defaultdict(list)
    missing: dict[str, int] = defaultdict(int)
    deployment: list[timedelta] = []
    # Intervals rather than timestamps: Django reads PostgreSQL timestamps with Python code and
    # intervals with psycopg's C code. `since_fix` is empty exactly when the fix date is;
    # `remediation` is only read when it is not.
    rows = fixes.annotate(
        fixed=F("fixed_at") - Value(as_of, output_field=DateTimeField()),
        since_fix=F("fixed_at") - F("fix_available_at"),
        remediation=F("fixed_at") - Greatest("fix_available_at", "window_start"),
    ).values_list("tier", "fixed", "since_fix", "remediation", "host_id")
    first_seen_of = _first_seen(hosts, known_at, as_of)
    for tier, fixed, since_fix, since_start_or_fix, host_id in rows:
        if since_fix is None:
            missing[tier] += 1
            continue
        times[tier].append(max(since_start_or_fix, zero))
        # fixed_at - max(fix, first seen) = min(fixed_at - fix, fixed_at - first seen)
        first_seen = first_seen_of.get(host_id)
        since_deployable = since_fix if first_seen is None else min(since_fix, fixed - first_seen)
        deployment.append(max(since_deployable, zero))
    return (
        {tier: Durations.of(values) for tier, values in times.items()},
        dict(missing),
        Durations.of(deployment),
    )


class _AnyOf(Func):
    """`field = ANY(array)`: the values as one array parameter (PostgreSQL)."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()

    def __init__(self, field: str, values: list[Any]) -> None:
        super().__init__(F(field), Value(values))


def _among(field: str, values: list[Any]) -> Q | _AnyOf:
    """`field__in=values`; on PostgreSQL written with one array parameter, which psycopg
    parses once and caches (it parses a statement of more than 50 parameters, such as an
    IN list of hundreds of values, anew every time: a few ms of the overview's requests)."""
    if connection.vendor == "postgresql":
        return _AnyOf(field, values)
    return Q(**{f"{field}__in": values})


class _Percentile(Aggregate):
    """PostgreSQL's percentile_disc: the nearest-rank percentile, as `percentile` computes it.

    percentile_disc(f) takes the value at rank ceil(f * n), computed in floating point, where
    `percentile` computes ceil(p * n / 100) in integers: 0.9 * 10 is 9.000000000000002 in
    floating point, and its ceiling 10, not 9. Asking for f = p/100 - 1e-9 gives the integer
    rank for every n below 10^8: p * n / 100 is a whole number or at least 0.02 above one
    (p is a whole number), the float error is far below 1e-9 * n, and 1e-9 * n is below 0.02."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, p: int, expression: Any, **extra: Any) -> None:
        fraction = percentile_fraction(p)
        super().__init__(expression, fraction=fraction, output_field=DurationField(), **extra)


def percentile_fraction(p: int) -> str:
    """The fraction to ask percentile_disc for, for the nearest-rank p-th percentile (see
    `_Percentile`), as SQL."""
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    return repr(p / 100 - 1e-9) if p < 100 else "1"


def _trend(
    periods: list[tuple[datetime, datetime]],
    ends: list[datetime],
    counts: list[dict[str, dict[str, int]]],
) -> list[PeriodTrend]:
    return [
        PeriodTrend(
            start=start,
            end=end,
            as_of=as_of,
            open_at_end=sum(row["open_at_end"] for row in per_tier.values()),
            excepted_at_end=sum(row["excepted"] for row in per_tier.values()),
            tiers=tuple(
                TierSla(tier, row["sla_counted"], row["sla_met"])
                for tier, row in sorted(per_tier.items())
                if row["sla_counted"]
            ),
        )
        for (start, end), as_of, per_tier in zip(periods, ends, counts, strict=True)
    ]


def _upstream_lag(
    scope: QuerySet[Any], counted: QuerySet[Any], start: datetime, as_of: datetime
) -> tuple[tuple[str, Durations], ...]:
    # A group's latest fix is in the period only if one of its fixes is, so only the advisories
    # with a fix since `start` are grouped (in an organisation with a history, few of them),
    # named in the query so that PostgreSQL reads their rows through the advisory index.
    fixed_since = (
        scope.filter(fix_available_at__gte=start)
        .order_by()
        .values_list("advisory_id", flat=True)
        .distinct()
    )
    groups = (
        counted.filter(
            _among("advisory_id", sorted(fixed_since)),
            published_at__isnull=False,
            fix_available_at__isnull=False,
            window_start__lt=as_of,
        )
        .order_by()
        .values("advisory_id", "package_distro")
        .annotate(fix=Max("fix_available_at"), published=Min("published_at"))
        .filter(fix__gte=start, fix__lt=as_of)
    )
    lags: dict[str, list[timedelta]] = defaultdict(list)
    for group in groups:
        lags[group["package_distro"]].append(group["fix"] - group["published"])
    return tuple((distro, Durations.of(lags[distro])) for distro in sorted(lags))


def _hosts_at(hosts: QuerySet[Host], as_of: datetime, known_at: datetime | None) -> QuerySet[Host]:
    """The hosts that existed at `as_of`: registered or first seen before it. As known at
    `known_at`: registered by then (a host is registered when its first SBOM arrives, so one
    whose evidence arrived later is not counted, whatever its snapshots' dates)."""
    if known_at is not None:
        return hosts.filter(created_at__lt=min(as_of, known_at) + timedelta(microseconds=1))
    return hosts.filter(Q(created_at__lt=as_of) | Q(first_seen_at__lt=as_of))


def _fleets_at(access: Access, known_at: datetime | None) -> int:
    fleets = fleets_visible(access)
    if known_at is not None:
        fleets = fleets.filter(created_at__lte=known_at)
    return fleets.count()


def _first_seen(
    hosts: QuerySet[Host], known_at: datetime | None, as_of: datetime
) -> dict[int, timedelta | None]:
    """Each host's first sighting (its earliest snapshot, as known at `known_at` from the
    snapshots received by then, else when it was registered), as its interval from `as_of`
    (see `timeline_figures` for why)."""
    first: Any = F("first_seen_at")
    if known_at is not None:
        taken = Q(sboms__status=SbomStatus.INGESTED, sboms__received_at__lte=known_at)
        first = Coalesce(Min("sboms__snapshot_at", filter=taken), F("created_at"))
    since = hosts.annotate(
        since=ExpressionWrapper(
            first - Value(as_of, output_field=DateTimeField()), output_field=DurationField()
        )
    ).values_list("pk", "since")
    return dict(since)


def _stale_hosts(
    hosts: QuerySet[Host], as_of: datetime, stale_before: datetime, known_at: datetime | None
) -> tuple[StaleHost, ...]:
    # Each host's newest snapshot before `as_of`, read from the (host, status, snapshot_at)
    # index one host at a time rather than by grouping every snapshot of the organisation.
    taken = SbomDocument.objects.filter(
        host=OuterRef("pk"), status=SbomStatus.INGESTED, snapshot_at__lt=as_of
    )
    if known_at is not None:
        taken = taken.filter(received_at__lte=known_at)
    newest = _hosts_at(hosts, as_of, known_at).annotate(
        last_snapshot=Subquery(taken.order_by("-snapshot_at").values("snapshot_at")[:1])
    )
    stale = newest.filter(Q(last_snapshot__isnull=True) | Q(last_snapshot__lt=stale_before))
    return tuple(
        StaleHost(
            host_id=host.pk,
            hostname=host.hostname,
            fleet_slug=host.fleet.slug,
            last_snapshot_at=host.last_snapshot,
        )
        for host in stale.order_by("hostname", "pk")
    )
