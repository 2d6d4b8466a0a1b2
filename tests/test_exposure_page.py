"""The Exposures page: filters, sorting, paging, and a CSV of exactly what is filtered."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from evidence.models import Exposure
from portal.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(settings: Any) -> Client:
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    assert client.login(username="officer@acme.example", password="patchproof-demo")
    return client


def rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.getvalue().decode())))


def test_filters_and_the_csv_hold_the_same_exposures(officer: Client) -> None:
    page = officer.get("/o/acme/exposures/?fleet=web-prod&status=open")
    assert page.status_code == 200
    expected = Exposure.objects.filter(fleet__slug="web-prod", fixed_at__isnull=True).exclude(
        advisory__source="retired"
    )
    assert expected.count() == 3  # the pending kernel fix on each web host
    assert f"{expected.count()} exposures matching the filters" in page.content.decode()
    exported = rows(officer.get("/o/acme/exposures/?fleet=web-prod&status=open&format=csv"))
    assert sorted(r["id"] for r in exported) == sorted(str(e.pk) for e in expected)
    assert {r["status"] for r in exported} == {"open"}
    assert AuditEvent.objects.filter(action="exposures.exported").count() == 1
    everything = rows(officer.get("/o/acme/exposures/?format=csv"))
    assert len(everything) == Exposure.objects.filter(organization__slug="acme").count()


def test_kev_cve_and_date_filters(officer: Client) -> None:
    kev = rows(officer.get("/o/acme/exposures/?kev=true&format=csv"))
    assert {r["advisory"] for r in kev} == {"azurelinux-oval:DEMO-AZL-2026-0002"}
    assert {r["cves"] for r in kev} == {"CVE-2026-90002"}
    by_cve = rows(officer.get("/o/acme/exposures/?cve=cve-2026-90002&format=csv"))
    assert sorted(r["id"] for r in by_cve) == sorted(r["id"] for r in kev)
    assert rows(officer.get("/o/acme/exposures/?opened_from=2099-01-01&format=csv")) == []
    bad = officer.get("/o/acme/exposures/?opened_from=yesterday")
    assert "opened from: &#x27;yesterday&#x27; is not a date" in bad.content.decode()


def test_other_organisations_and_anonymous_see_nothing(officer: Client) -> None:
    globex = Client()
    assert globex.login(username="officer@globex.example", password="patchproof-demo")
    assert globex.get("/o/acme/exposures/").status_code == 404
    assert Client().get("/o/acme/exposures/").status_code in (302, 404)


def test_query_count_does_not_grow_with_the_rows(
    officer: Client, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        officer.get("/o/acme/exposures/")
    with django_assert_max_num_queries(12):
        officer.get("/o/acme/exposures/?sort=host")


def test_overview_figures_link_to_their_evidence(officer: Client) -> None:
    from datetime import UTC, datetime

    from django.utils import timezone

    from evidence.timeline import timeline_figures
    from portal.accounts.access import Access
    from portal.accounts.models import Organization

    call_command("evaluate_controls", "--org=acme", "--last-quarter", stdout=io.StringIO())
    page = officer.get("/o/acme/").content.decode()
    now = timezone.now()
    start = datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)
    figures = timeline_figures(
        Access(organization=Organization.objects.get(slug="acme"), role="owner"),
        fleet=None,
        start=start,
        end=now,
        now=now,
    )
    assert "This quarter so far" in page
    overdue = f'?status=overdue"><span class="n">{figures.overdue_at_end}</span>'
    assert overdue in page
    assert "?kev=true&amp;status=open" in page
    assert "PTL-PATCH-01" in page and "/o/acme/evaluations/" in page
    assert "<svg" in page  # the packets' own charts
    evaluation = officer.get(
        page.split('href="/o/acme/evaluations/')[1].split('"')[0].join(["/o/acme/evaluations/", ""])
    )
    assert evaluation.status_code == 200 and "PTL-AUD-02" in evaluation.content.decode()


def test_overview_query_count_does_not_grow_with_hosts(officer: Client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from evidence.models import Fleet
    from tests.factories import HostFactory

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert officer.get("/o/acme/").status_code == 200
        return len(queries)

    before = count()
    fleet = Fleet.objects.get(slug="web-prod")
    for n in range(25):
        HostFactory.create(fleet=fleet, hostname=f"extra-{n}.acme.example")
    assert count() == before <= 100


def test_host_and_advisory_pages_show_the_timeline(officer: Client) -> None:
    exposure = Exposure.objects.get(
        host__hostname="web-02.acme.example", advisory__external_id="DEMO-AZL-2026-0002"
    )
    host_page = officer.get(f"/o/acme/hosts/{exposure.host_id}/").content.decode()
    assert "packages with exposures, version by version" in host_page
    assert "DEMO-AZL-2026-0002" in host_page and "<svg" in host_page
    advisory_page = officer.get(f"/o/acme/advisories/{exposure.advisory_id}/")
    text = advisory_page.content.decode()
    assert advisory_page.status_code == 200
    assert "affected hosts until fixed" in text and "CVE-2026-90002" in text
    for hostname in ("web-01.acme.example", "web-02.acme.example", "web-03.acme.example"):
        assert hostname in text
    globex = Client()
    assert globex.login(username="officer@globex.example", password="patchproof-demo")
    assert (
        globex.get(f"/o/globex/advisories/{exposure.advisory_id}/").content.count(b"web-0") == 0
    )  # the advisory is shared; Acme's hosts are not


def test_fleet_page_shows_open_exposures_per_host_and_tier(officer: Client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from evidence.models import Fleet
    from tests.factories import HostFactory

    page = officer.get("/o/acme/fleets/web-prod/").content.decode()
    # The pending kernel fix (P3) is open on each of the three web hosts.
    assert "Open P3" in page and "Advisories open on most hosts" in page
    assert "DEMO-AZL-2026-0003" in page and "SLA profile history" in page
    assert "?fleet=web-prod&amp;host=" in page
    fleet = Fleet.objects.get(slug="web-prod")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            officer.get("/o/acme/fleets/web-prod/")
        return len(queries)

    before = count()
    for n in range(10):
        HostFactory.create(fleet=fleet, hostname=f"more-{n}.acme.example")
    assert count() == before


def test_a_large_fleet_lists_its_hosts_a_hundred_a_page(officer: Client) -> None:
    from evidence.models import Fleet, Host

    fleet = Fleet.objects.get(slug="web-prod")
    Host.objects.bulk_create(
        Host(fleet=fleet, hostname=f"bulk-{n:03d}.acme.example") for n in range(250)
    )
    total = Host.objects.filter(fleet=fleet).count()
    first = officer.get("/o/acme/fleets/web-prod/").content.decode()
    assert f"{total} hosts, 100 a page by name" in first
    assert "page 1 of 3" in first and 'href="?page=2"' in first
    assert "bulk-000.acme.example" in first and "bulk-150.acme.example" not in first
    last = officer.get("/o/acme/fleets/web-prod/?page=3").content.decode()
    assert "page 3 of 3" in last and 'href="?page=2"' in last
    # The demo's own web hosts sort after the bulk ones, on the last page, with their counts.
    assert "web-01" in last and "Open P3" in last
    shown = sum(page.count('<tr><td><a href="/o/acme/hosts/') for page in (first, last))
    assert shown == 100 + (total - 200)
    # A page number past the end shows the last page, and one that is not a number the first,
    # rather than an error.
    assert "page 3 of 3" in officer.get("/o/acme/fleets/web-prod/?page=9").content.decode()
    for bad in ("abc", "-1", "0", "1e9", "%00"):
        response = officer.get(f"/o/acme/fleets/web-prod/?page={bad}")
        assert response.status_code == 200, bad
        assert "page 1 of 3" in response.content.decode() or "page 3 of 3" in (
            response.content.decode()
        ), bad
