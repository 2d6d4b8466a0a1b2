"""The window counts of periods (evidence.timeline), for any number of periods at once.

Every count of a period `[start, as_of)` compares an exposure's dates with `start` and `as_of`
(or its fix with its due date), and asks whether a risk exception in force at `as_of` covers
it. So the database groups the exposures by tier, by whether they are left out (closed as not
affected or by an exception), by where each date falls among the periods' boundaries, by how
the fix compares with the due date and by which periods' exceptions cover them, and counts each
group once; the counts of a period are then the sums of the groups meeting its conditions,
decided here on a few hundred groups. One filtered count per figure and period would evaluate
every condition on every exposure instead, which took most of a dashboard's time.

The scan groups every exposure as if it were neither known-exploited nor covered by an
exception; a second query, through indexes, finds the few that are and moves them to their
own groups. The conditions are those of the evidence.timeline docstring, written on positions:
a date is before the boundary at position p when its bucket is 1..p (0: no date).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from evidence.models import CloseReason
from portal.read_ahead import read_ahead_rows

EXCLUDED_REASONS = (CloseReason.NOT_AFFECTED, CloseReason.EXCEPTION)
NULL = 0  # the bucket of an empty date
FIXED_IN_TIME, FIXED_LATE = 1, 2  # fixed_at <= due_at, fixed_at > due_at (0: either empty)

DATES = {
    "started": "window_start",
    "fixed": "fixed_at",
    "due": "due_at",
    "kev": "kev_added_at",
    "kev_due": "kev_due_at",
}
# Per tier; `open` excludes the excepted windows, `open_at_end` counts every open window;
# `excluded` are the windows overlapping the period closed as not affected or by an exception.
FIGURES = (
    "open", "overdue", "excepted", "sla_counted", "sla_met", "no_due_date", "exposures",
    "open_at_start", "opened", "fixed", "open_at_end", "kev_open", "kev_open_past_kev_due",
    "kev_fixed", "excluded",
)  # fmt: skip


def touching(start: datetime) -> Q:
    """The exposures some count of a period starting at `start` counts: open, or started, fixed
    or due since `start`. Every condition below implies it, so leaving the others out of a scan
    changes no count, and most of an old organisation's exposures are others."""
    return (
        Q(fixed_at__isnull=True)
        | Q(fixed_at__gte=start)
        | Q(window_start__gte=start)
        | Q(due_at__gte=start)
    )


class _Bucket(Func):
    """`weight` times the field's bucket: 0 when the date is empty, else 1 + how many of
    `bounds` (ascending) are at or before it; in SQL, one CASE with a WHEN per bound (on
    PostgreSQL, width_bucket).

    Written as one expression rather than a Case of When(field__lt=bound) per bound: Django
    resolved, compiled and hashed those sixty-odd When clauses on every overview request,
    about 10 ms of Python for the same SQL."""

    def __init__(self, field: str, bounds: tuple[datetime, ...], weight: int) -> None:
        super().__init__(F(field), output_field=IntegerField())
        self.bounds = bounds
        self.weight = weight

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        prepare = DateTimeField().get_db_prep_value
        sql = [f"CASE WHEN {column} IS NULL THEN 0"]
        params = list(column_params)
        for n, bound in enumerate(self.bounds):
            sql.append(f"WHEN {column} < %s THEN {self.weight * (1 + n)}")
            params += [*column_params, prepare(bound, connection)]
        sql.append(f"ELSE {self.weight * (1 + len(self.bounds))} END")
        return " ".join(sql), params

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        """The same bucket by width_bucket over the bounds as one array: as fast in the
        database, and a statement short enough for psycopg to cache how it is parsed (it
        re-parsed the overview's longest statements, 4 ms each, on every request)."""
        column, column_params = compiler.compile(self.source_expressions[0])
        prepare = DateTimeField().get_db_prep_value
        bounds = [prepare(bound, connection) for bound in self.bounds]
        sql = f"(COALESCE(1 + width_bucket({column}, %s::timestamptz[]), 0) * {self.weight})"
        return sql, [*column_params, bounds]


# What a trend chart shows of a period (see `window_counts_begin`'s `summary_from`).
SUMMARY_FIGURES = ("open_at_end", "excepted", "sla_counted", "sla_met")


Counts = list[dict[str, dict[str, int]]]


def window_counts_begin(
    scope: QuerySet[Any],
    periods: list[tuple[datetime, datetime]],
    covered: list[Q | None],
    *,
    summary_from: int | None = None,
) -> Callable[[], Counts]:
    """Starts the scan (on a connection of its own where it can, see portal.read_ahead) and
    returns the function that finishes the counts: the caller does its other work meanwhile.

    For each period `(start, as_of)`, `{tier: {figure: count}}` over `scope` (exposures, or
    exposure versions), in two queries whatever the number of periods. `covered[n]` is the
    condition "an exception in force at the n-th period's `as_of` covers it", None when none
    does. The periods from position `summary_from` on are counted for SUMMARY_FIGURES only
    (their other figures are 0): a trend needs no more, and counting every figure of every
    month took a third of the overview's time.

    The tiers are those of the exposures the periods touch; a figure nothing counts is 0."""
    bounds = sorted({moment for period in periods for moment in period})
    position = {moment: n for n, moment in enumerate(bounds)}
    conditions: list[Q] = []  # the distinct cover conditions, each a bit of `cover`
    bit: list[int | None] = []
    for condition in covered:
        if condition is not None and condition not in conditions:
            conditions.append(condition)
        bit.append(None if condition is None else conditions.index(condition))
    # Each exposure's group is one number (mixed radix), not nine columns: PostgreSQL cannot
    # estimate how few combinations nine computed columns take, and sorts instead of hashing.
    sizes = {"cover": 1 << len(conditions), "in_time": 3, "left_out": 2}
    sizes |= dict.fromkeys(DATES, len(bounds) + 2)
    weights, weight = {}, 1
    for name, size in sizes.items():
        weights[name], weight = weight, weight * size
    code: Any = Case(
        When(fixed_at__lte=F("due_at"), then=Value(weights["in_time"] * FIXED_IN_TIME)),
        When(fixed_at__gt=F("due_at"), then=Value(weights["in_time"] * FIXED_LATE)),
        default=Value(0),
        output_field=IntegerField(),
    )
    code += Case(
        When(closed_reason__in=EXCLUDED_REASONS, then=Value(weights["left_out"])),
        default=Value(0),
    )
    for name in ("started", "fixed", "due"):
        code += _Bucket(DATES[name], tuple(bounds), weights[name])
    # Every row is grouped as if it were neither known-exploited nor covered (each computed
    # column costs a scan of tens of thousands of rows dearly); the few that are, found
    # through indexes, are then moved from the group they were counted in to their own.
    exact = code
    for name in ("kev", "kev_due"):
        exact += _Bucket(DATES[name], tuple(bounds), weights[name])
    for n, condition in enumerate(conditions):
        exact += Case(When(condition, then=Value(weights["cover"] << n)), default=Value(0))
    special = reduce(or_, conditions, Q(kev_added_at__isnull=False))
    touched = scope.filter(touching(min(start for start, _as_of in periods))).order_by()
    scan = read_ahead_rows(
        touched.values("tier", code=code).annotate(n=Count("*")).values_list("tier", "code", "n")
    )
    moved = touched.filter(special).values("tier", code=exact).annotate(n=Count("*"))

    def finish() -> Counts:
        # The few known-exploited or covered exposures are read here, while the scan may still
        # be running on its own connection: reading them after it would add to its wait.
        special_groups = list(moved.values_list("tier", "code", "n"))
        return _tally(scan(), special_groups, periods, bit, position, sizes, weights, summary_from)

    return finish


def _tally(
    scanned: list[tuple[str, int, int]],
    special: list[tuple[str, int, int]],
    periods: list[tuple[datetime, datetime]],
    bit: list[int | None],
    position: dict[datetime, int],
    sizes: dict[str, int],
    weights: dict[str, int],
    summary_from: int | None,
) -> Counts:
    """The counts of `window_counts_begin` from the scan's groups (`scanned`) and the groups of the
    known-exploited or covered exposures (`special`)."""
    net: dict[tuple[str, int], int] = defaultdict(int)
    for tier_id, group, n in scanned:
        net[tier_id, group] += n
    for tier_id, group, n in special:
        plain = sum(
            group // weights[name] % sizes[name] * weights[name]
            for name in ("in_time", "left_out", "started", "fixed", "due")
        )
        net[tier_id, plain] -= n
        net[tier_id, group] += n

    result: list[dict[str, dict[str, int]]] = [
        defaultdict(lambda: dict.fromkeys(FIGURES, 0)) for _period in periods
    ]
    summary = len(periods) if summary_from is None else summary_from
    periods_at = [  # the positions of start and as_of (1-based), the cover bit, and whether
        # every figure is counted
        (
            counts,
            1 + position[start],
            1 + position[as_of],
            None if b is None else 1 << b,
            number < summary,
        )
        for number, (counts, (start, as_of), b) in enumerate(zip(result, periods, bit, strict=True))
    ]
    groups = []  # (tier, decoded group, n)
    # The summary figures read neither the known-exploited dates nor the excluded windows, so
    # the summary periods go through the groups merged over those: fewer, and a shorter test.
    merged: dict[tuple[str, int, int, int, int, int], int] = defaultdict(int)
    for (tier_id, group), n in net.items():
        if not n:
            continue
        g = {name: group // weights[name] % size for name, size in sizes.items()}
        groups.append((tier_id, g, n))
        if not g["left_out"]:
            key = (tier_id, g["started"], g["fixed"], g["due"], g["in_time"], g["cover"])
            merged[key] += n
    touched_tiers = {tier_id for tier_id, _g, _n in groups}
    for counts, s, a, mask, every in periods_at:
        for tier_id in touched_tiers:  # every tier the scan touched is in each period's counts
            counts.setdefault(tier_id, dict.fromkeys(FIGURES, 0))
        if every:
            _count_every(counts, groups, s, a, mask)
            continue
        for (tier_id, started, fixed, due, in_time, cover), n in merged.items():
            tier = counts[tier_id]
            started_before_end = started <= a  # window_start is never empty
            if started_before_end and (fixed == NULL or fixed > a):
                tier["open_at_end"] += n
                if mask is not None and cover & mask:
                    tier["excepted"] += n
            met = s < fixed <= a and in_time == FIXED_IN_TIME
            if met:
                tier["sla_met"] += n
                tier["sla_counted"] += n
            elif (
                (fixed == NULL or in_time == FIXED_LATE)
                and NULL < due <= a
                and started_before_end
                and (due > s or started > s)
            ):
                tier["sla_counted"] += n
    return [dict(counts) for counts in result]


def _count_every(
    counts: dict[str, dict[str, int]],
    groups: list[tuple[str, dict[str, int], int]],
    s: int,
    a: int,
    mask: int | None,
) -> None:
    """Every figure of a period whose start and as_of are at positions `s` and `a`."""
    for tier_id, g, n in groups:
        started, fixed, due = g["started"], g["fixed"], g["due"]
        started_before_end = started <= a  # window_start is never empty
        tier = counts[tier_id]
        if g["left_out"]:
            if started_before_end and (fixed == NULL or fixed > s):
                tier["excluded"] += n
            continue
        open_window = started_before_end and (fixed == NULL or fixed > a)
        excepted = open_window and mask is not None and bool(g["cover"] & mask)
        fixed_in = s < fixed <= a
        met = fixed_in and g["in_time"] == FIXED_IN_TIME
        missed = (
            (fixed == NULL or g["in_time"] == FIXED_LATE)
            and NULL < due <= a
            and started_before_end
            and (due > s or started > s)
        )
        open_end = open_window and not excepted
        overlaps = started_before_end and (fixed == NULL or fixed > s)
        kev = NULL < g["kev"] <= a
        for figure, holds in (
            ("open", open_end),
            ("overdue", open_end and NULL < due <= a),
            ("excepted", excepted),
            ("sla_counted", met or missed),
            ("sla_met", met),
            ("no_due_date", due == NULL and (open_window or fixed_in)),
            ("exposures", overlaps),
            ("open_at_start", started <= s and (fixed == NULL or fixed > s)),
            ("opened", s < started <= a),
            ("fixed", fixed_in),
            ("open_at_end", open_window),
            ("kev_open", open_end and kev),
            ("kev_open_past_kev_due", open_end and kev and NULL < g["kev_due"] <= a),
            ("kev_fixed", fixed_in and kev),
        ):
            if holds:
                tier[figure] += n
