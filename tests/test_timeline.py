"""Timeline figures, computed by hand: fixed clocks, real SBOM ingests, real feed records.

The exposures come from the product's own pipeline (SBOM ingest and feed sync, matching after
the commit), as in test_matching.py; every expected figure below is worked out in comments.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.http import Http404

from evidence.exceptions import exception_approve, exception_request
from evidence.feeds import model as feed
from evidence.feeds.store import advisories_store, kev_store
from evidence.feeds.sync import _match_later
from evidence.ingest import sbom_ingest, sbom_receive
from evidence.models import Exposure, Fleet, Host
from evidence.timeline import percentile, timeline_figures
from portal.accounts.access import Access, access_for_user
from portal.accounts.models import Organization
from tests.factories import (
    AuditorGrantFactory,
    FleetFactory,
    HostFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)
from tests.test_matching import cyclonedx

pytestmark = pytest.mark.django_db

START = datetime(2026, 4, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)  # a 91-day quarter
NOW = datetime(2026, 11, 26, tzinfo=UTC)  # long after END: as_of == END


def day(month: int, dom: int) -> datetime:
    return datetime(2026, month, dom, 12, tzinfo=UTC)


# --- building through the real pipeline -------------------------------------------------------


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[..., Any]]:
    """Run a callable, then its on-commit work (the matching tasks), as production does."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    yield run


@dataclass
class Pipeline:
    run: Callable[..., Any]

    def snapshot(
        self, fleet: Fleet, hostname: str, when: datetime, packages: dict[str, str]
    ) -> Host:
        host = Host.objects.filter(fleet=fleet, hostname=hostname).first() or HostFactory.create(
            fleet=fleet, hostname=hostname
        )
        data = cyclonedx(when, packages, distro=fleet.distribution)
        document = sbom_receive(
            organization=fleet.organization, data=data, size=len(data), host=host, dispatch=False
        )
        self.run(sbom_ingest, document_id=document.pk)
        host.refresh_from_db()
        return host

    def advisory(
        self,
        external_id: str,
        published: datetime,
        rows: list[tuple[str, str, datetime, str]],  # name, fixed version, fix date, distro
        *,
        severity: str = "medium",
        cvss: float | None = None,
        cves: tuple[str, ...] = (),
    ) -> None:
        record = feed.Advisory(
            source="fedora-updateinfo",
            external_id=external_id,
            title=external_id,
            severity=severity,
            cvss_score=cvss,
            published_at=published,
            modified_at=published,
            aliases=cves,
            affected=[
                feed.Affected(
                    package_type="rpm",
                    name=name,
                    distro=distro,
                    vers=f"vers:rpm/<{fixed}",
                    fixed_version=fixed,
                    fix_available_at=fix_at,
                )
                for name, fixed, fix_at, distro in rows
            ],
        )
        self.run(
            lambda: _match_later(advisories_store("fedora-updateinfo", [record], payload=None))
        )

    def kev(self, cve: str, added: date, due: date) -> None:
        entry = feed.KevEntry(
            cve_id=cve, vendor="v", product="p", name=cve, date_added=added, due_date=due
        )
        self.run(lambda: _match_later(kev_store([entry])))


@pytest.fixture
def pipeline(run_commits: Callable[..., Any]) -> Pipeline:
    return Pipeline(run_commits)


def member_access(org: Organization) -> Access:
    user = UserFactory.create()
    MembershipFactory.create(user=user, organization=org)
    return access_for_user(user=user, org_slug=org.slug)


def auditor_access(fleet: Fleet) -> Access:
    user = UserFactory.create()
    AuditorGrantFactory.create(auditor=user, organization=fleet.organization, fleet=fleet)
    return access_for_user(user=user, org_slug=fleet.organization.slug)


def iso(value: datetime) -> str:
    return value.isoformat()


def durations(count: int, p50: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "p50_days": p50, "p90_days": p90}


def tier(
    *,
    open: int = 0,
    overdue: int = 0,
    excepted: int = 0,
    sla: tuple[int, int, float | None] = (0, 0, None),
    no_due_date: int = 0,
    ttr: tuple[int, float | None, float | None] = (0, None, None),
) -> dict[str, Any]:
    counted, met, percent = sla
    return {
        "open": open,
        "overdue": overdue,
        "excepted": excepted,
        "sla_counted": counted,
        "sla_met": met,
        "sla_percent": percent,
        "no_due_date": no_due_date,
        "time_to_remediate": durations(*ttr),
        "remediated_without_fix_date": 0,
    }


# --- the scenario ------------------------------------------------------------------------------

F40 = {
    "openssl": ("1:3.2.1-2.fc40", "1:3.2.2-1.fc40"),  # (vulnerable, fixed)
    "postgresql": ("16.1-1.fc40", "16.2-1.fc40"),
    "glibc": ("2.39-8.fc40", "2.39-9.fc40"),
    "curl": ("8.5.0-1.fc40", "8.6.0-1.fc40"),
}
BASH = {"bash": "5.2.26-3.fc40"}


def f40(**fixed: bool) -> dict[str, str]:
    """Packages: each named one vulnerable (False) or fixed (True), plus bash."""
    return {name: F40[name][1 if ok else 0] for name, ok in fixed.items()} | BASH


@dataclass
class World:
    org: Organization
    alpha: Fleet  # fedora-40, Balanced
    beta: Fleet  # fedora-41, PCI DSS 6.3.3
    hosts: dict[str, Host]


@pytest.fixture
def world(pipeline: Pipeline) -> World:
    """Fleet alpha (fedora-40, Balanced, not internet-exposed):

    Advisories (published / fix available for fedora-40, 12:00 UTC):
      MED  openssl, medium: 1/1 / 1/5 (fedora-41 row: fix 4/2)       -> P3, 90 days
      HIGH postgresql, CVSS 8.1: 4/1 / 4/3                              -> P2, 30 days
      KEV  glibc, medium, CVE-2026-3333, KEV since 5/1 (due 5/15): 3/1 / 3/2 -> P1, 14 days
      LOW  curl, low: 5/1 / 5/20                                        -> P4, 180 days
    The Balanced clock starts at the later of fix available and host first seen (a
    regression: its window start); KEV's due date 5/15 is later than P1's, so not applied.

    web-1 (first seen 1/10): MED 1/10-4/20 (due 4/10, late), HIGH 1/10-5/10 (due 5/3, late),
      KEV 1/10-5/10 (due 3/16, late), MED again 5/10-6/28 (a downgrade: regression, due 8/8).
    web-2 (first seen 3/1): MED 3/1-4/10 (due 5/30, in SLA), HIGH 3/1-4/10 (due 5/3, in SLA),
      KEV 3/1-open (due 3/16, overdue), LOW 3/1-open (due 11/16).
    db-1 (first seen 5/1): HIGH 5/1-7/1 00:00 = END exactly (due 5/31), MED 5/1-open (due 7/30).
    stale-1: one snapshot on 2/1, nothing vulnerable.

    Fleet beta (fedora-41, PCI DSS: medium findings get no deadline, tier OTHER):
    pci-1 (first seen 4/5): MED 4/5-6/1, fix available 4/2, no due date.
    """
    org = OrganizationFactory.create()
    alpha = FleetFactory.create(
        organization=org, slug="alpha", distribution="fedora-40", sla_profile="balanced"
    )
    beta = FleetFactory.create(
        organization=org, slug="beta", distribution="fedora-41", sla_profile="pci-dss-4-6.3.3"
    )
    pipeline.advisory(
        "FEDORA-2026-0101",
        day(1, 1),
        [
            ("openssl", "1:3.2.2-1.fc40", day(1, 5), "fedora-40"),
            ("openssl", "1:3.2.2-1.fc41", day(4, 2), "fedora-41"),
        ],
    )
    pipeline.advisory(
        "FEDORA-2026-0102", day(4, 1), [("postgresql", "16.2-1.fc40", day(4, 3), "fedora-40")],
        cvss=8.1,
    )  # fmt: skip
    pipeline.advisory(
        "FEDORA-2026-0103", day(3, 1), [("glibc", "2.39-9.fc40", day(3, 2), "fedora-40")],
        cves=("CVE-2026-3333",),
    )  # fmt: skip
    pipeline.kev("CVE-2026-3333", date(2026, 5, 1), date(2026, 5, 15))
    pipeline.advisory(
        "FEDORA-2026-0104", day(5, 1), [("curl", "8.6.0-1.fc40", day(5, 20), "fedora-40")],
        severity="low",
    )  # fmt: skip

    snap = pipeline.snapshot
    snap(alpha, "web-1", day(1, 10), f40(openssl=False, postgresql=False, glibc=False))
    snap(alpha, "web-1", day(4, 20), f40(openssl=True, postgresql=False, glibc=False))
    snap(alpha, "web-1", day(5, 10), f40(openssl=False, postgresql=True, glibc=True))
    snap(alpha, "web-1", day(6, 28), f40(openssl=True, postgresql=True, glibc=True))
    snap(alpha, "web-2", day(3, 1), f40(openssl=False, postgresql=False, glibc=False, curl=False))
    snap(alpha, "web-2", day(4, 10), f40(openssl=True, postgresql=True, glibc=False, curl=False))
    snap(alpha, "web-2", day(6, 28), f40(openssl=True, postgresql=True, glibc=False, curl=False))
    snap(alpha, "db-1", day(5, 1), f40(openssl=False, postgresql=False))
    snap(alpha, "db-1", day(6, 25), f40(openssl=False, postgresql=False))
    snap(alpha, "db-1", END, f40(openssl=False, postgresql=True))
    snap(alpha, "stale-1", day(2, 1), BASH)
    f41 = {"bash": "5.2.26-3.fc41"}
    snap(beta, "pci-1", day(4, 5), {"openssl": "1:3.2.1-2.fc41"} | f41)
    snap(beta, "pci-1", day(6, 1), {"openssl": "1:3.2.2-1.fc41"} | f41)
    snap(beta, "pci-1", day(6, 30), {"openssl": "1:3.2.2-1.fc41"} | f41)
    hosts = {h.hostname: h for h in Host.objects.filter(fleet__organization=org)}
    return World(org=org, alpha=alpha, beta=beta, hosts=hosts)


def test_the_scenario_is_what_the_figures_assume(world: World) -> None:
    """The pipeline produced the windows, tiers and due dates the hand computation uses."""
    rows = {
        (e.host.hostname, e.package_name, e.window_start): (e.tier, e.due_at, e.fixed_at)
        for e in Exposure.objects.filter(organization=world.org).select_related("host")
    }
    assert rows == {
        ("web-1", "openssl", day(1, 10)): ("P3", day(4, 10), day(4, 20)),
        ("web-1", "openssl", day(5, 10)): ("P3", day(8, 8), day(6, 28)),
        ("web-1", "postgresql", day(1, 10)): ("P2", day(5, 3), day(5, 10)),
        ("web-1", "glibc", day(1, 10)): ("P1", day(3, 16), day(5, 10)),
        ("web-2", "openssl", day(3, 1)): ("P3", day(5, 30), day(4, 10)),
        ("web-2", "postgresql", day(3, 1)): ("P2", day(5, 3), day(4, 10)),
        ("web-2", "glibc", day(3, 1)): ("P1", day(3, 16), None),
        ("web-2", "curl", day(3, 1)): ("P4", day(11, 16), None),
        ("db-1", "postgresql", day(5, 1)): ("P2", day(5, 31), END),
        ("db-1", "openssl", day(5, 1)): ("P3", day(7, 30), None),
        ("pci-1", "openssl", day(4, 5)): ("OTHER", None, day(6, 1)),
    }


def test_whole_organisation(world: World) -> None:
    figures = timeline_figures(member_access(world.org), fleet=None, start=START, end=END, now=NOW)
    stale = world.hosts["stale-1"]
    assert figures.as_dict() == {
        "period": {
            "fleet": None,
            "start": iso(START),
            "end": iso(END),
            "as_of": iso(END),
            "days": 91.0,
            "stale_before": "2026-06-24T00:00:00+00:00",
        },
        "counts": {
            "fleets": 2,
            "hosts": 5,
            # All 11 windows overlap the quarter. Open at start: the 7 of web-1 and web-2
            # that began before 4/1; opened: db-1's two, pci-1's, web-1's regression; fixed in
            # [4/1, 7/1): web-1 x4, web-2 x2, pci-1 (db-1's fix at 7/1 is the next period's).
            "exposures": 11,
            "open_at_start": 7,
            "opened": 4,
            "fixed": 7,
            "open_at_end": 4,  # 7 + 4 - 7: web-2 KEV and LOW, db-1 HIGH (fixed at END) and MED
            "excepted_at_end": 0,
            "overdue_at_end": 2,  # web-2 KEV (due 3/16), db-1 HIGH (due 5/31)
            "excluded_not_affected_or_excepted": 0,
        },
        "tiers": {
            # pci-1: fixed in the quarter with no due date; 4/5 (window start, after the fix
            # of 4/2) to 6/1 = 57 days.
            "OTHER": tier(no_due_date=1, ttr=(1, 57.0, 57.0)),
            # Both KEV windows fell due on 3/16, before the quarter: missed then, so in no
            # share here (web-2's is still open: overdue). web-1's fix: 3/2 to 5/10 = 69 days.
            "P1": tier(open=1, overdue=1, ttr=(1, 69.0, 69.0)),
            # Verdicts in the quarter: web-1 missed on 5/3, web-2 met on 4/10, db-1 missed on
            # 5/31 (fixed 7/1) -> 1 of 3.
            # Remediation from the fix (4/3): web-2 7 days, web-1 37 days; nearest rank:
            # p50 = rank ceil(1.0) = 1st = 7, p90 = rank ceil(1.8) = 2nd = 37.
            "P2": tier(open=1, overdue=1, sla=(3, 1, 33.33), ttr=(2, 7.0, 37.0)),
            # web-1 missed on 4/10 (fixed 4/20), web-2 met on 4/10, web-1's regression met on
            # 6/28 (due 8/8) -> 2 of 3; db-1's falls due 7/30, in the next quarter.
            # Remediation: web-2 40 (3/1-4/10), regression 49 (5/10-6/28), web-1 100
            # (1/10-4/20); p50 = 2nd of 3, p90 = 3rd of 3.
            "P3": tier(open=1, sla=(3, 2, 66.67), ttr=(3, 49.0, 100.0)),
            "P4": tier(open=1),  # web-2 curl, due 11/16
        },
        "upstream_lag": {
            # Fixes available in the quarter, once per advisory (HIGH covers 3 exposures):
            # HIGH 4/1 -> 4/3 = 2 days, LOW 5/1 -> 5/20 = 19 days; MED and KEV were fixed for
            # fedora-40 before 4/1. fedora-41: MED 1/1 -> 4/2 = 91 days.
            "fedora-40": durations(2, 2.0, 19.0),
            "fedora-41": durations(1, 91.0, 91.0),
        },
        "deployment_lag": {
            # From the later of fix available and host first seen: web-1 MED 1/10-4/20 = 100,
            # HIGH 4/3-5/10 = 37, KEV 3/2-5/10 = 69, regression 1/10-6/28 = 169; web-2 MED
            # 3/1-4/10 = 40, HIGH 4/3-4/10 = 7; pci-1 4/5-6/1 = 57. Sorted 7 37 40 57 69 100
            # 169: p50 = rank ceil(3.5) = 4th = 57, p90 = rank ceil(6.3) = 7th = 169.
            **durations(7, 57.0, 169.0),
            "without_fix_date": 0,
        },
        # web-2's glibc is open (and past KEV's 5/15 due date); web-1's was fixed 5/10.
        "kev": {"open": 1, "open_past_kev_due": 1, "fixed": 1},
        "stale_inventories": {
            "count": 1,  # db-1's newest snapshot before END is 6/25, after 6/24: fresh
            "hosts": [
                {
                    "host_id": stale.pk,
                    "hostname": "stale-1",
                    "fleet": "alpha",
                    "last_snapshot_at": iso(day(2, 1)),
                }
            ],
        },
    }
    json.dumps(figures.as_dict())  # serialisable as it is
    p2 = figures.tier("P2")
    assert p2 is not None and p2.sla_percent == 33.33
    assert figures.tier("P0") is None


def test_one_fleet_of_the_organisation(world: World) -> None:
    figures = timeline_figures(
        member_access(world.org), fleet=world.alpha, start=START, end=END, now=NOW
    ).as_dict()
    assert figures["period"]["fleet"] == "alpha"
    assert figures["counts"] == {
        "fleets": 1,
        "hosts": 4,
        "exposures": 10,
        "open_at_start": 7,
        "opened": 3,
        "fixed": 6,
        "open_at_end": 4,
        "excepted_at_end": 0,
        "overdue_at_end": 2,
        "excluded_not_affected_or_excepted": 0,
    }
    assert set(figures["tiers"]) == {"P1", "P2", "P3", "P4"}
    assert figures["upstream_lag"] == {"fedora-40": durations(2, 2.0, 19.0)}
    # Without pci-1's 57: 7 37 40 69 100 169 -> p50 3rd = 40, p90 rank ceil(5.4) = 6th = 169.
    assert figures["deployment_lag"] == {**durations(6, 40.0, 169.0), "without_fix_date": 0}
    assert [h["hostname"] for h in figures["stale_inventories"]["hosts"]] == ["stale-1"]


def test_a_fleet_scoped_auditor_sees_only_their_fleet(world: World) -> None:
    access = auditor_access(world.beta)
    assert access.fleet_id == world.beta.pk
    figures = timeline_figures(access, fleet=None, start=START, end=END, now=NOW).as_dict()
    assert figures["counts"] == {
        "fleets": 1,
        "hosts": 1,
        "exposures": 1,
        "open_at_start": 0,
        "opened": 1,
        "fixed": 1,
        "open_at_end": 0,
        "excepted_at_end": 0,
        "overdue_at_end": 0,
        "excluded_not_affected_or_excepted": 0,
    }
    assert figures["tiers"] == {"OTHER": tier(no_due_date=1, ttr=(1, 57.0, 57.0))}
    assert figures["upstream_lag"] == {"fedora-41": durations(1, 91.0, 91.0)}
    assert figures["deployment_lag"] == {**durations(1, 57.0, 57.0), "without_fix_date": 0}
    assert figures["kev"] == {"open": 0, "open_past_kev_due": 0, "fixed": 0}
    assert figures["stale_inventories"] == {"count": 0, "hosts": []}
    # Naming their own fleet gives the same figures; another fleet does not exist for them.
    own = timeline_figures(access, fleet=world.beta, start=START, end=END, now=NOW).as_dict()
    assert own["counts"] == figures["counts"] and own["tiers"] == figures["tiers"]
    with pytest.raises(Http404):
        timeline_figures(access, fleet=world.alpha, start=START, end=END, now=NOW)
    # Nor does another organisation's fleet, for a member of this one.
    stranger = FleetFactory.create()
    with pytest.raises(Http404):
        timeline_figures(member_access(world.org), fleet=stranger, start=START, end=END, now=NOW)


def test_a_later_period_counts_what_was_left_over(world: World) -> None:
    """The next quarter opens with the 4 left open and takes db-1's fix at exactly 7/1."""
    access = member_access(world.org)
    nxt = timeline_figures(
        access, fleet=None, start=END, end=datetime(2026, 10, 1, tzinfo=UTC), now=NOW
    ).as_dict()
    counts = nxt["counts"]
    assert (counts["open_at_start"], counts["opened"], counts["fixed"]) == (4, 0, 1)
    assert counts["open_at_end"] == 3  # web-2 KEV and LOW, db-1 MED
    assert counts["overdue_at_end"] == 2  # web-2 KEV, db-1 MED (due 7/30)
    assert nxt["tiers"] == {
        "P1": tier(open=1, overdue=1),
        # db-1 HIGH: its miss (5/31) was the last quarter's; 5/1 (first seen, after the fix
        # of 4/3) 12:00 to 7/1 00:00 = 60.5 days.
        "P2": tier(ttr=(1, 60.5, 60.5)),
        # db-1 MED falls due 7/30 unfixed: missed. (web-1's regression, due 8/8, was met
        # when it was fixed on 6/28, last quarter.)
        "P3": tier(open=1, overdue=1, sla=(1, 0, 0.0)),
        "P4": tier(open=1),
    }
    # No host reported after 6/30: all five are stale on 9/24.
    assert nxt["stale_inventories"]["count"] == 5


def test_periods_add_up(world: World) -> None:
    """Q1 + Q2 = the half year, for every count that belongs to one period."""
    access = member_access(world.org)
    jan = datetime(2026, 1, 1, tzinfo=UTC)

    def figures(start: datetime, end: datetime) -> dict[str, Any]:
        return timeline_figures(access, fleet=None, start=start, end=end, now=NOW).as_dict()

    q1, q2, half = figures(jan, START), figures(START, END), figures(jan, END)
    # Q1: web-1's 3 and web-2's 4 windows open, nothing fixed; both KEV windows missed 3/16.
    assert (q1["counts"]["opened"], q1["counts"]["fixed"]) == (7, 0)
    assert q1["tiers"]["P1"]["sla_counted"] == 2 and q1["tiers"]["P1"]["sla_percent"] == 0.0
    for key in ("opened", "fixed"):
        assert half["counts"][key] == q1["counts"][key] + q2["counts"][key]
    for name in set(q1["tiers"]) | set(q2["tiers"]):
        for key in ("sla_counted", "sla_met"):
            parts = [q["tiers"].get(name, {}).get(key, 0) for q in (q1, q2)]
            assert half["tiers"][name][key] == sum(parts), (name, key)
    assert half["counts"]["open_at_end"] == q2["counts"]["open_at_end"]
    assert half["counts"]["open_at_start"] == q1["counts"]["open_at_start"] == 0


def test_a_risk_exception_in_force_moves_open_to_excepted(world: World) -> None:
    """An approved exception for the KEV advisory across alpha, 6/1 12:00 to 7/31 12:00."""
    requester, approver = UserFactory.create(), UserFactory.create()
    kev_advisory = Exposure.objects.get(host=world.hosts["web-2"], package_name="glibc").advisory
    exception = exception_request(
        fleet=world.alpha,
        requested_by=requester,
        justification="compensating control: seccomp profile",
        expires_at=day(7, 31),
        advisory=kev_advisory,
        now=day(6, 1),
    )
    exception_approve(exception=exception, approver=approver, now=day(6, 1))
    access = member_access(world.org)

    def at(end: datetime) -> dict[str, Any]:
        return timeline_figures(access, fleet=None, start=START, end=end, now=NOW).as_dict()

    q2 = at(END)
    # web-2's KEV window is still open at END, but excepted: not open, not overdue.
    assert q2["tiers"]["P1"] == tier(excepted=1, ttr=(1, 69.0, 69.0))
    counts = q2["counts"]
    assert (counts["open_at_end"], counts["excepted_at_end"], counts["overdue_at_end"]) == (4, 1, 1)
    assert q2["kev"] == {"open": 0, "open_past_kev_due": 0, "fixed": 1}
    # The SLA share does not move: the due date stays.
    assert q2["tiers"]["P2"]["sla_percent"] == 33.33
    # Before the approval (END of May) and after the expiry (8/1), the window is open again.
    assert at(datetime(2026, 6, 1, tzinfo=UTC))["tiers"]["P1"]["open"] == 1
    later = timeline_figures(
        access, fleet=None, start=END, end=datetime(2026, 8, 1, tzinfo=UTC), now=NOW
    ).as_dict()
    assert (later["tiers"]["P1"]["open"], later["tiers"]["P1"]["excepted"]) == (1, 0)


# --- boundaries --------------------------------------------------------------------------------


@pytest.fixture
def edges(pipeline: Pipeline) -> tuple[Access, Fleet]:
    """One medium advisory (P3, 90 days), fixed upstream long before the period.

    h1: vulnerable from START-90d (so due exactly at START), fixed exactly at START.
    h2: vulnerable from END-90d (due exactly at END), fixed exactly at END.
    h3: first snapshot, vulnerable, exactly at END (and registered after it, by the real clock).
    never: registered at START, never reported. edge: one snapshot exactly at END-7d.
    """
    fleet = FleetFactory.create(slug="edge", distribution="fedora-40", sla_profile="balanced")
    long_ago = START - timedelta(days=200)
    pipeline.advisory(
        "FEDORA-2026-0200", long_ago, [("openssl", "1:3.2.2-1.fc40", long_ago, "fedora-40")]
    )
    pipeline.snapshot(fleet, "h1", START - timedelta(days=90), f40(openssl=False))
    pipeline.snapshot(fleet, "h1", START, f40(openssl=True))
    pipeline.snapshot(fleet, "h2", END - timedelta(days=90), f40(openssl=False))
    pipeline.snapshot(fleet, "h2", END, f40(openssl=True))
    pipeline.snapshot(fleet, "h3", END, f40(openssl=False))
    HostFactory.create(fleet=fleet, hostname="never", created_at=START)
    pipeline.snapshot(fleet, "edge", END - timedelta(days=7), BASH)
    return member_access(fleet.organization), fleet


def test_period_boundaries(edges: tuple[Access, Fleet]) -> None:
    access, fleet = edges
    hosts = {h.hostname: h for h in Host.objects.filter(fleet=fleet)}
    assert {e.host.hostname: e.due_at for e in Exposure.objects.filter(fleet=fleet)} == {
        "h1": START,
        "h2": END,
        "h3": END + timedelta(days=90),
    }
    figures = timeline_figures(access, fleet=fleet, start=START, end=END, now=NOW).as_dict()
    assert figures["counts"] == {
        "fleets": 1,
        "hosts": 4,  # h3 appeared at END: not part of this period
        "exposures": 2,  # h1 (fixed at START is within), h2; h3's window starts at END
        "open_at_start": 1,  # h1: fixed at START, not before it
        "opened": 1,  # h2
        "fixed": 1,  # h1 at START counts; h2 at END does not
        "open_at_end": 1,  # h2: fixed at END, so open at the close of the period
        "excepted_at_end": 0,
        "overdue_at_end": 0,  # h2 is due at END, not before
        "excluded_not_affected_or_excepted": 0,
    }
    # h1 fixed exactly at its due date: in SLA. h2 is neither due nor fixed before END.
    assert figures["tiers"] == {"P3": tier(open=1, sla=(1, 1, 100.0), ttr=(1, 90.0, 90.0))}
    assert figures["upstream_lag"] == {}  # the only fix is from before the period
    assert figures["deployment_lag"] == {**durations(1, 90.0, 90.0), "without_fix_date": 0}
    # Newest snapshot before END: h1 START, h2 END-90d (its END snapshot is the next period's),
    # never none; edge's is exactly END-7d, which is not older than END-7d.
    assert figures["stale_inventories"] == {
        "count": 3,
        "hosts": [
            {"host_id": hosts["h1"].pk, "hostname": "h1", "fleet": "edge",
             "last_snapshot_at": iso(START)},
            {"host_id": hosts["h2"].pk, "hostname": "h2", "fleet": "edge",
             "last_snapshot_at": iso(END - timedelta(days=90))},
            {"host_id": hosts["never"].pk, "hostname": "never", "fleet": "edge",
             "last_snapshot_at": None},
        ],
    }  # fmt: skip

    # A period reaching past `now` is measured up to `now` (nothing overdue or stale early).
    longer = timeline_figures(
        access, fleet=fleet, start=START, end=END + timedelta(days=30), now=END
    ).as_dict()
    assert longer["period"]["as_of"] == iso(END) and longer["period"]["days"] == 91.0
    assert {k: v for k, v in longer.items() if k != "period"} == {
        k: v for k, v in figures.items() if k != "period"
    }

    # A period starting one microsecond later loses h1's fix (and its SLA verdict).
    later = timeline_figures(
        access, fleet=fleet, start=START + timedelta(microseconds=1), end=END, now=NOW
    ).as_dict()
    assert (later["counts"]["fixed"], later["counts"]["open_at_start"]) == (0, 0)
    assert later["tiers"] == {"P3": tier(open=1)}


def test_not_affected_and_excepted_are_left_out(edges: tuple[Access, Fleet]) -> None:
    access, fleet = edges
    # A hand-made VEX verdict on h2's window (matching does not write these yet).
    Exposure.objects.filter(fleet=fleet, host__hostname="h2").update(closed_reason="not_affected")
    counts = timeline_figures(access, fleet=fleet, start=START, end=END, now=NOW).as_dict()[
        "counts"
    ]
    assert counts["open_at_end"] == 0
    assert counts["exposures"] == 1
    assert counts["excluded_not_affected_or_excepted"] == 1
    Exposure.objects.filter(fleet=fleet, host__hostname="h1").update(closed_reason="exception")
    figures = timeline_figures(access, fleet=fleet, start=START, end=END, now=NOW).as_dict()
    assert figures["counts"]["excluded_not_affected_or_excepted"] == 2
    assert figures["counts"]["fixed"] == 0
    assert figures["tiers"] == {}
    assert figures["deployment_lag"] == {**durations(0, None, None), "without_fix_date": 0}


def test_nothing_to_measure_gives_none_with_zero_denominators() -> None:
    org = OrganizationFactory.create()
    figures = timeline_figures(member_access(org), fleet=None, start=START, end=END, now=NOW)
    data = figures.as_dict()
    assert data["counts"] == dict.fromkeys(data["counts"], 0)
    assert data["tiers"] == {}
    assert data["upstream_lag"] == {}
    assert data["deployment_lag"] == {**durations(0, None, None), "without_fix_date": 0}
    assert data["kev"] == {"open": 0, "open_past_kev_due": 0, "fixed": 0}
    assert data["stale_inventories"] == {"count": 0, "hosts": []}


def test_invalid_periods_are_refused() -> None:
    access = member_access(OrganizationFactory.create())
    with pytest.raises(ValueError, match="before it ends"):
        timeline_figures(access, fleet=None, start=END, end=END, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        timeline_figures(access, fleet=None, start=START.replace(tzinfo=None), end=END, now=NOW)
    with pytest.raises(ValueError, match="after now"):
        timeline_figures(access, fleet=None, start=START, end=END, now=START - timedelta(1))
    with pytest.raises(ValueError, match="stale_after"):
        timeline_figures(
            access, fleet=None, start=START, end=END, now=NOW, stale_after=timedelta(-1)
        )


# --- percentiles -------------------------------------------------------------------------------


def days(*values: float) -> list[timedelta]:
    return [timedelta(days=v) for v in values]


@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [
        # Nearest rank: rank = ceil(p * n / 100), 1-based, on the sorted values.
        (days(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 5, 9),  # n=10: ranks 5 and 9
        (days(5, 4, 3, 2, 1), 3, 5),  # n=5: ranks ceil(2.5)=3, ceil(4.5)=5
        (days(7, 37), 7, 37),  # n=2: ranks 1 and ceil(1.8)=2 (interpolation would say 22)
        (days(42), 42, 42),
        (days(-3, 1.5, 4), 1.5, 4),  # n=3: ranks 2 and 3; negative values sort first
    ],
)
def test_nearest_rank_percentiles(values: list[timedelta], p50: float, p90: float) -> None:
    assert percentile(values, 50) == timedelta(days=p50)
    assert percentile(values, 90) == timedelta(days=p90)
    assert percentile(values, 100) == max(values)


def test_percentile_of_nothing_and_out_of_range() -> None:
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="p must be"):
        percentile(days(1), 0)
    with pytest.raises(ValueError, match="p must be"):
        percentile(days(1), 101)
