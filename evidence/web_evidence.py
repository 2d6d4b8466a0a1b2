"""Evidence pages: a host's package ledger and exposures as a timeline, and an advisory's dates
with the hosts it affected (and when each was fixed), drawn by the packets' chart code.

Both read through the caller's `Access`: the advisory itself is a shared upstream fact (like a
feed), the hosts and exposures shown are only the caller's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from evidence import selectors
from evidence.charts import Chart, Mark, Segment, TimelineRow, timeline_chart
from evidence.models import Advisory, CloseReason, Exposure, Fleet, Host, PackageInterval
from portal.accounts.access import Access
from portal.accounts.decorators import org_view

ROWS = 20  # timeline rows drawn; the tables list everything


def _span(moments: list[datetime], now: datetime) -> tuple[datetime, datetime]:
    start = min(moments, default=now - timedelta(days=90))
    return start - timedelta(days=1), now + timedelta(days=1)


def host_timeline(host: Host, exposures: list[Exposure], now: datetime) -> Chart:
    """The host's packages that had an exposure: each version as it was installed (vulnerable
    while inside an exposure window), with the advisories' dates as marks."""
    names = sorted({e.package_name for e in exposures})[:ROWS]
    intervals = (
        PackageInterval.objects.filter(host=host, package__name__in=names)
        .select_related("package")
        .order_by("present_from")
    )
    windows = defaultdict(list)
    for e in exposures:
        windows[e.package_name].append(e)
    rows = []
    moments: list[datetime] = []
    by_name: dict[str, list[Segment]] = defaultdict(list)
    for interval in intervals:
        vulnerable = any(
            e.package_id == interval.package_id for e in windows[interval.package.name]
        )
        by_name[interval.package.name].append(
            Segment(
                interval.present_from,
                interval.present_until,
                "vulnerable" if vulnerable else "installed",
            )
        )
        moments.append(interval.present_from)
    for name in names:
        marks = []
        for e in windows[name]:
            for kind, at in (("published", e.published_at), ("fix available", e.fix_available_at),
                             ("kev added", e.kev_added_at), ("fixed", e.fixed_at)):  # fmt: skip
                if at is not None:
                    marks.append(Mark(at, kind))
                    moments.append(at)
        rows.append(TimelineRow(name, tuple(by_name[name]), tuple(marks)))
    start, end = _span(moments, now)
    return timeline_chart(
        title=f"{host.hostname}: packages with exposures, version by version", start=start,
        end=end, rows=rows,
    )  # fmt: skip


def advisory_timeline(advisory: Advisory, exposures: list[Exposure], now: datetime) -> Chart:
    """Per affected host: the exposure window (vulnerable until fixed), with the advisory's
    publication, fix availability, KEV addition and the fix as marks."""
    rows = []
    moments: list[datetime] = [advisory.published_at] if advisory.published_at else []
    for e in exposures[:ROWS]:
        kind = "fixed" if e.fixed_at else "vulnerable"
        marks = [Mark(at, k) for k, at in (("published", e.published_at),
                 ("fix available", e.fix_available_at), ("kev added", e.kev_added_at),
                 ("fixed", e.fixed_at)) if at is not None]  # fmt: skip
        moments += [e.window_start] + [m.at for m in marks]
        label = f"{e.host.hostname} ({e.package_name})"
        rows.append(TimelineRow(label, (Segment(e.window_start, e.fixed_at, kind),), tuple(marks)))
    start, end = _span(moments, now)
    return timeline_chart(
        title=f"{advisory.external_id}: affected hosts until fixed", start=start, end=end,
        rows=rows,
    )  # fmt: skip


def host_exposures(access: Access, host: Host) -> list[Exposure]:
    return list(
        selectors.exposures_visible(access).filter(host=host).order_by("-window_start", "pk")[:200]
    )


@org_view()
def advisory_detail(request: HttpRequest, access: Access, advisory_id: int) -> HttpResponse:
    advisory = get_object_or_404(Advisory, pk=advisory_id)
    exposures = list(
        selectors.exposures_visible(access).filter(advisory=advisory).order_by("host__hostname")
    )
    now = timezone.now()
    context = {
        "access": access,
        "advisory": advisory,
        "aliases": advisory.aliases.order_by("alias"),
        "affected": advisory.affected.order_by("distro", "name")[:200],
        "exposures": exposures,
        "chart": advisory_timeline(advisory, exposures, now) if exposures else None,
        "chart_table_open": False,
        # fleets where an advisory-wide exception could be requested: some host still exposed
        "exception_fleets": sorted(
            {e.fleet.slug: e.fleet for e in exposures if e.fixed_at is None}.values(),
            key=lambda fleet: fleet.name,
        ),
    }
    return render(request, "evidence/advisory_detail.html", context)


HOSTS_PER_PAGE = 100


def fleet_figures(access: Access, fleet: Fleet, page: str | None = None) -> dict[str, object]:
    """The fleet page's figures in five queries, whatever its size: each host's open exposures
    per tier and whether its inventory is stale, `HOSTS_PER_PAGE` hosts a page (by hostname;
    a fleet of thousands would otherwise be a page of thousands of rows), and the advisories
    with most open exposures."""
    open_now = (
        selectors.exposures_visible(access)
        .filter(fleet=fleet, fixed_at__isnull=True)
        .exclude(closed_reason__in=(CloseReason.NOT_AFFECTED, CloseReason.EXCEPTION))
    )
    per_host: dict[int, dict[str, int]] = defaultdict(dict)
    for host_id, tier, count in (
        open_now.order_by().values_list("host_id", "tier").annotate(n=Count("pk"))
    ):
        per_host[host_id][tier] = count
    tiers = sorted({tier for counts in per_host.values() for tier in counts})
    stale_before = timezone.now() - timedelta(days=7)
    host_page = Paginator(
        selectors.hosts_visible(access).filter(fleet=fleet).order_by("hostname", "pk"),
        HOSTS_PER_PAGE,
    ).get_page(page)
    hosts = [
        {
            "host": host,
            "stale": host.last_seen_at is None or host.last_seen_at < stale_before,
            "tiers": [per_host[host.pk].get(tier, 0) for tier in tiers],
        }
        for host in host_page.object_list
    ]
    return {
        "tiers": tiers,
        "host_rows": hosts,
        "host_page": host_page,
        "top_advisories": _top_advisories(open_now, TOP_ADVISORIES),
    }


TOP_ADVISORIES = 10


def _top_advisories(open_now: QuerySet[Exposure], count: int) -> list[dict[str, Any]]:
    """The `count` advisories with open exposures on most hosts (ties by external id), in two
    queries: the hosts per advisory from the exposures' index, then only the advisories that
    can be among the first `count`. Joining the advisories before grouping made PostgreSQL read the
    whole advisory table (every source's, tens of thousands of rows) for ten names."""
    hosts = dict(
        open_now.order_by()
        .values("advisory_id")
        .annotate(hosts=Count("host_id", distinct=True))
        .values_list("advisory_id", "hosts")
    )
    if not hosts:
        return []
    least = sorted(hosts.values(), reverse=True)[:count][-1]
    candidates = [pk for pk, n in hosts.items() if n >= least]
    advisories = (
        Advisory.objects.filter(pk__in=candidates)
        .order_by("external_id")  # the database's order for ties, as before
        .values_list("pk", "source", "external_id", "title")
    )
    rows = [
        {
            "advisory_id": pk,
            "advisory__source": source,
            "advisory__external_id": external_id,
            "advisory__title": title,
            "hosts": hosts[pk],
        }
        for pk, source, external_id, title in advisories
    ]
    rows.sort(key=lambda row: -row["hosts"])  # stable: ties stay in external id order
    return rows[:count]
