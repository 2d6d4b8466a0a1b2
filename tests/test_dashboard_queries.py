"""The dashboards' query counts do not depend on the fleet's size, and their fast counts are the
exact ones (issue 7).

Two organisations with the same shape, one of 10 hosts and one of 70, are built with bulk
inserts; every page is requested in both and must issue the same number of queries, at most
the pinned one. What was rewritten for speed is checked against what it replaces: the figures
the overview counts in one scan, the status filter spelled as plain conditions, and the feeds
the overview reads in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from evidence.feeds.sync import sources_ensure
from evidence.models import (
    Advisory,
    CloseReason,
    Exposure,
    ExposureStatus,
    FeedSource,
    Fleet,
    Host,
    Package,
    PackageInterval,
    RiskException,
    SbomDocument,
    SbomStatus,
    SlaProfileChange,
)
from evidence.overview import TREND_MONTHS, _months_back, _quarter_start
from evidence.packets.context import months_between
from evidence.selectors import (
    exposures_filtered,
    exposures_visible,
    feeds_health,
    feeds_not_ok,
    hosts_visible,
)
from evidence.timeline import (
    _fix_durations,
    _fix_durations_in_database,
    percentile,
    percentile_fraction,
    timeline_figures,
    timeline_overview_begin,
)
from evidence.timeline_counts import EXCLUDED_REASONS
from portal.accounts.access import Access
from portal.accounts.models import Membership, Organization, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SMALL, BIG = 10, 70
ADVISORIES = 8  # one exposure of each per host, each of another kind (see `_exposure`)

# The most queries each page may issue, whatever the fleet's size.
PAGES = {
    "overview": ("/", 23),
    "fleet": ("/fleets/web/", 14),
    "exposures": ("/exposures/", 9),
    "exposures filtered": ("/exposures/?status=overdue&tier=P2&kev=false", 9),
    "exposures page 2 by due date": ("/exposures/?sort=due&page=2", 9),
    "exposures by host": ("/exposures/?fleet=db&sort=host", 9),
    "host": ("/hosts/{host}/", 12),
    "advisory": ("/advisories/{advisory}/", 10),
}


@dataclass
class World:
    org: Organization
    host: Host
    advisory: Advisory

    def url(self, page: str) -> str:
        path = PAGES[page][0].format(host=self.host.pk, advisory=self.advisory.pk)
        return f"/o/{self.org.slug}{path}"


def _exposure(
    org: Organization, host: Host, advisory: Advisory, k: int, package: Package, now: datetime
) -> Exposure:
    """The k-th advisory's exposure of the host: open, overdue, fixed in time, fixed late,
    not affected, under an exception, known-exploited, or a regression without dates."""
    start = now - timedelta(days=5 + (host.pk * 7 + k * 13) % 200, hours=k)
    kind = k % ADVISORIES
    fixed = {2: start + timedelta(days=2), 3: min(start + timedelta(days=40), now)}.get(kind)
    return Exposure(
        organization=org,
        fleet=host.fleet,
        host=host,
        advisory=advisory,
        package_type="rpm",
        package_distro="fedora-40",
        package_name=f"pkg{k}",
        package=package,
        window_start=start,
        published_at=start - timedelta(days=3),
        fix_available_at=None if kind == 7 else start - timedelta(days=1),
        kev_added_at=start + timedelta(days=1) if kind == 6 else None,
        kev_due_at=start + timedelta(days=15) if kind == 6 else None,
        detected_at=start,
        fixed_at=fixed,
        closed_reason={2: CloseReason.UPGRADED, 3: CloseReason.UPGRADED}.get(
            kind, CloseReason.NOT_AFFECTED if kind == 4 else ""
        ),
        regression=kind == 7,
        tier=("P1", "P2", "P3")[k % 3],
        due_at=None if kind == 7 else start + timedelta(days=(400, 3, 30, 10)[kind % 4]),
    )


def world_build(slug: str, hosts: int, officer: Any, advisories: list[Advisory]) -> World:
    now = timezone.now()
    org = Organization.objects.create(slug=slug, name=slug.title())
    Membership.objects.create(user=officer, organization=org, role=Role.OFFICER)
    fleets = [
        Fleet.objects.create(organization=org, slug=name, name=name, distribution="fedora-40")
        for name in ("web", "db")
    ]
    SlaProfileChange.objects.bulk_create(
        SlaProfileChange(fleet=fleet, profile="balanced", profile_version="1", changed_by=officer)
        for fleet in fleets
    )
    made = Host.objects.bulk_create(
        Host(
            fleet=fleets[n % 2],
            hostname=f"{slug}-{n:03d}",
            first_seen_at=now - timedelta(days=300),
            last_seen_at=now - timedelta(days=20 if n % 5 == 0 else 1),
        )
        for n in range(hosts)
    )
    SbomDocument.objects.bulk_create(
        SbomDocument(
            organization=org,
            fleet=host.fleet,
            host=host,
            status=SbomStatus.INGESTED,
            snapshot_at=now - timedelta(days=1 + 7 * week),
            component_count=ADVISORIES,
        )
        for host in made
        for week in range(2)
    )
    packages = list(Package.objects.order_by("name"))
    PackageInterval.objects.bulk_create(
        PackageInterval(host=host, package=package, present_from=now - timedelta(days=300))
        for host in made
        for package in packages
    )
    Exposure.objects.bulk_create(
        _exposure(org, host, advisory, k, packages[k], now)
        for host in made
        for k, advisory in enumerate(advisories)
    )
    # An exception for an advisory across the web fleet, in force for the last 40 days, and
    # one for a single exposure, in force since 100 days; both cover some months only.
    web = fleets[0]
    one = Exposure.objects.filter(fleet=web, advisory=advisories[1]).first()
    assert one is not None
    approver = UserFactory.create()
    RiskException.objects.bulk_create(
        [
            RiskException(
                organization=org,
                fleet=web,
                advisory=advisories[5],
                justification="compensated",
                requested_by=officer,
                requested_at=now - timedelta(days=41),
                approved_by=approver,
                approved_at=now - timedelta(days=40),
                expires_at=now + timedelta(days=30),
            ),
            RiskException(
                organization=org,
                fleet=web,
                exposure=one,
                exposure_ref=one.pk,
                advisory=advisories[1],
                justification="compensated",
                requested_by=officer,
                requested_at=now - timedelta(days=101),
                approved_by=approver,
                approved_at=now - timedelta(days=100),
                expires_at=now + timedelta(days=30),
            ),
        ]
    )
    return World(org=org, host=made[0], advisory=advisories[0])


def packages_and_advisories() -> list[Advisory]:
    """The packages and advisories every world's exposures refer to."""
    sources_ensure()
    Package.objects.bulk_create(
        Package(
            purl=f"pkg:rpm/fedora/pkg{k}@1.0-1.fc40?distro=fedora-40",
            purl_hash=k + 1,
            type="rpm",
            name=f"pkg{k}",
            version="1.0-1.fc40",
            distro="fedora-40",
        )
        for k in range(ADVISORIES)
    )
    return Advisory.objects.bulk_create(
        Advisory(source="osv", external_id=f"OSV-DASH-{k}", title=f"Issue {k}", digest="x")
        for k in range(ADVISORIES)
    )


@pytest.fixture
def worlds() -> tuple[Client, World, World]:
    advisories = packages_and_advisories()
    officer = UserFactory.create()
    small = world_build("small", SMALL, officer, advisories)
    big = world_build("big", BIG, officer, advisories)
    client = Client()
    client.force_login(officer)
    return client, small, big


@pytest.mark.parametrize("page", PAGES)
def test_a_page_issues_as_many_queries_for_70_hosts_as_for_10(
    page: str, worlds: tuple[Client, World, World], django_assert_max_num_queries: Any
) -> None:
    client, small, big = worlds
    for world in (small, big):  # warm the per-process caches (content types, sessions)
        client.get(world.url(page))
    counts = []
    for world in (small, big):
        with django_assert_max_num_queries(PAGES[page][1]) as queries:
            assert client.get(world.url(page)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], f"{SMALL} hosts: {counts[0]} queries, {BIG}: {counts[1]}"


def test_the_status_filter_selects_what_the_status_annotation_says(
    worlds: tuple[Client, World, World],
) -> None:
    _client, _small, big = worlds
    access = Access(organization=big.org, role="officer")
    statuses = dict(
        exposures_visible(access).values_list("pk", "current_status")  # type: ignore[misc]
    )
    assert set(statuses.values()) == set(ExposureStatus)  # every status is there
    for status in ExposureStatus:
        chosen = set(exposures_filtered(access, {"status": status}).values_list("pk", flat=True))
        assert chosen == {pk for pk, s in statuses.items() if s == status}, status
    assert not exposures_filtered(access, {"status": "bogus"}).exists()


def test_the_overview_counts_each_month_as_timeline_figures_does(
    worlds: tuple[Client, World, World],
) -> None:
    _client, _small, big = worlds
    now = timezone.now()
    months = months_between(_months_back(now, TREND_MONTHS), now)
    for access in (
        Access(organization=big.org, role="officer"),
        Access(organization=big.org, role="auditor", fleet_id=big.host.fleet_id),
    ):
        quarter, trend = timeline_overview_begin(
            access, fleet=None, start=_quarter_start(now), end=now, trend=months, now=now
        )()
        alone = timeline_figures(access, fleet=None, start=_quarter_start(now), end=now, now=now)
        assert quarter == alone
        for month, (start, end) in zip(trend, months, strict=True):
            figures = timeline_figures(access, fleet=None, start=start, end=end, now=now)
            assert (month.start, month.end, month.as_of) == (start, end, figures.as_of)
            assert month.open_at_end == figures.open_at_end
            assert month.excepted_at_end == figures.excepted_at_end
            assert [(t.tier, t.sla_counted, t.sla_met) for t in month.tiers] == [
                (t.tier, t.sla_counted, t.sla_met) for t in figures.tiers if t.sla_counted
            ]


def test_the_overview_lists_the_feeds_feeds_health_calls_not_ok() -> None:
    now = timezone.now()
    sources = sources_ensure()
    FeedSource.objects.filter(pk=sources[0].pk).update(last_success_at=now)  # ok
    FeedSource.objects.filter(pk=sources[1].pk).update(last_success_at=now - timedelta(days=9))
    FeedSource.objects.filter(pk=sources[2].pk).update(last_success_at=now, consecutive_failures=2)
    expected = [h.source.slug for h in feeds_health(now=now) if h.state != "ok"]
    assert sources[0].slug not in expected and sources[1].slug in expected
    assert [source.slug for source in feeds_not_ok(now=now)] == expected


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="the percentiles are computed by the database on PostgreSQL only",
)
def test_the_database_computes_the_same_fix_percentiles_as_python(
    worlds: tuple[Client, World, World],
) -> None:
    """The overview's time to remediate and deployment lag come from PostgreSQL's
    percentile_disc; the packets' (as known then) from sorting here. Both agree, for periods
    holding many different numbers of fixes (the nearest rank of p90 of 10 values is the 9th,
    where a plain percentile_disc(0.9) would take the 10th)."""
    _client, _small, big = worlds
    now = timezone.now()
    access = Access(organization=big.org, role="officer")
    fixes = exposures_visible(access).exclude(closed_reason__in=EXCLUDED_REASONS)
    hosts = hosts_visible(access)
    sizes = set()
    for days in (3, 5, 8, 10, 13, 20, 30, 45, 60, 90, 120, 200):
        start = now - timedelta(days=days)
        period = fixes.filter(fixed_at__gte=start, fixed_at__lt=now).order_by()
        in_database = _fix_durations_in_database(period)
        in_python = _fix_durations(period, hosts, None, now)
        assert in_database == in_python, days
        sizes.add(in_python[2].count)
    assert len(sizes) >= 8  # many different counts of fixes were compared


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="percentile_disc is PostgreSQL's",
)
@pytest.mark.parametrize("count", [1, 2, 3, 9, 10, 11, 19, 20, 21, 99, 100, 101, 1000])
def test_the_database_percentile_is_the_nearest_rank(count: int) -> None:
    from django.db import connection

    values = [timedelta(days=n) for n in range(1, count + 1)]
    with connection.cursor() as cursor:
        cursor.execute(  # the fractions are numbers formatted here, not input
            "SELECT "  # noqa: S608
            + ", ".join(
                f"percentile_disc({percentile_fraction(p)}) WITHIN GROUP (ORDER BY v)"
                for p in (50, 90)
            )
            + " FROM unnest(%s::interval[]) AS v",
            [values],
        )
        p50, p90 = cursor.fetchone()
    assert (p50, p90) == (percentile(values, 50), percentile(values, 90))


def test_the_fleet_page_lists_the_advisories_open_on_most_hosts() -> None:
    """At most ten, by hosts with an open exposure (not fixed, not closed as not affected or by
    an exception), ties by external id; the same list the single grouped query gave."""
    advisories = packages_and_advisories()  # 8 advisories
    advisories += Advisory.objects.bulk_create(
        Advisory(source="osv", external_id=f"OSV-TOP-{k:02d}", title=f"Top {k}", digest="x")
        for k in range(6)
    )
    officer = UserFactory.create()
    org = Organization.objects.create(slug="top", name="Top")
    Membership.objects.create(user=officer, organization=org, role=Role.OFFICER)
    fleet = Fleet.objects.create(organization=org, slug="web", name="web", distribution="fedora-40")
    hosts = Host.objects.bulk_create(Host(fleet=fleet, hostname=f"top-{n}") for n in range(5))
    package = Package.objects.order_by("pk").first()
    now = timezone.now()
    # The k-th advisory is open on (k % 5) + 1 hosts; on one more host it is fixed, not
    # affected or excepted, which does not count.
    closed: list[dict[str, Any]] = [
        {"fixed_at": now, "closed_reason": CloseReason.UPGRADED},
        {"closed_reason": CloseReason.NOT_AFFECTED},
        {"closed_reason": CloseReason.EXCEPTION},
    ]
    exposures = []
    for k, advisory in enumerate(advisories):
        for n, host in enumerate(hosts):
            state: dict[str, Any] | None = (
                {} if n <= k % 5 else closed[k % 3] if n == k % 5 + 1 else None
            )
            if state is None:
                continue
            fields: dict[str, Any] = {
                "organization": org, "fleet": fleet, "host": host, "advisory": advisory,
                "package_type": "rpm", "package_distro": "fedora-40", "package_name": "pkg0",
                "package": package, "window_start": now - timedelta(days=3), "detected_at": now,
                "tier": "P3",
            }  # fmt: skip
            exposures.append(Exposure(**fields, **state))
    Exposure.objects.bulk_create(exposures)
    client = Client()
    client.force_login(officer)
    response = client.get(f"/o/{org.slug}/fleets/web/")
    assert response.status_code == 200
    shown = [(a["advisory__external_id"], a["hosts"]) for a in response.context["top_advisories"]]
    expected = sorted(
        ((a.external_id, k % 5 + 1) for k, a in enumerate(advisories)),
        key=lambda item: (-item[1], item[0]),
    )[:10]
    assert shown == expected
    assert [n for _id, n in shown] == [5, 5, 4, 4, 4, 3, 3, 3, 2, 2]


def test_the_overview_names_the_longest_silent_stale_hosts_and_counts_them_all() -> None:
    """25 stale hosts: the count says 25, and the 20 named are the never-seen ones (by name)
    and then those whose last snapshot is oldest."""
    officer = UserFactory.create()
    org = Organization.objects.create(slug="quiet", name="Quiet")
    Membership.objects.create(user=officer, organization=org, role=Role.OFFICER)
    fleet = Fleet.objects.create(organization=org, slug="web", name="web", distribution="fedora-40")
    hosts = Host.objects.bulk_create(Host(fleet=fleet, hostname=f"q-{n:02d}") for n in range(25))
    now = timezone.now()
    for days, host in zip(range(8, 15), hosts[18:], strict=True):  # q-18 .. q-24
        SbomDocument.objects.create(
            organization=org, fleet=fleet, host=host, status=SbomStatus.INGESTED,
            snapshot_at=now - timedelta(days=days),
        )  # fmt: skip
    client = Client()
    client.force_login(officer)
    response = client.get(f"/o/{org.slug}/")

    assert response.status_code == 200
    overview = response.context["overview"]
    assert len(overview.figures.stale_hosts) == 25
    named = [h.hostname for h in overview.stale_hosts_shown]
    assert named == [f"q-{n:02d}" for n in range(18)] + ["q-24", "q-23"]
    page = response.content.decode()
    assert "25 hosts have sent no SBOM for more than 7 days" in page
    assert ">q-24</a>" in page and ">q-22</a>" not in page
