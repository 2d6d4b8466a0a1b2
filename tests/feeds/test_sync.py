"""Syncing feeds end to end: files, directories and a real HTTP server on 127.0.0.1 (ETag and
304, 500s, slow answers, truncated bodies), the upsert rules, runs and health, the command."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from evidence.feeds.fetch import FetchError, url_check
from evidence.feeds.sync import feed_sync, sources_ensure
from evidence.models import (
    Advisory,
    AffectedPackage,
    FeedPayload,
    FeedRun,
    FeedSource,
    KevEntry,
    RunStatus,
)
from tests.feeds.server import Route, feed_server

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fast_http(settings: Any) -> None:
    settings.FEED_HTTP_RETRIES = 2
    settings.FEED_HTTP_BACKOFF = 0.01
    settings.FEED_HTTP_TIMEOUT = 1


def kev_catalog(*cves: str, version: str = "2025.02.18") -> bytes:
    return json.dumps(
        {
            "title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": version,
            "dateReleased": "2025-02-18T16:00:00.000Z",
            "count": len(cves),
            "vulnerabilities": [
                {
                    "cveID": cve,
                    "vendorProject": "Example",
                    "product": "Widget",
                    "vulnerabilityName": f"Widget flaw {cve}",
                    "dateAdded": "2025-02-18",
                    "shortDescription": "A flaw.",
                    "requiredAction": "Apply updates per vendor instructions.",
                    "dueDate": "2025-03-11",
                    "knownRansomwareCampaignUse": "Unknown",
                    "notes": "",
                }
                for cve in cves
            ],
        }
    ).encode()


def osv_record(ident: str, *, modified: str, fixed: str = "1.0", **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": ident,
        "modified": modified,
        "published": "2024-01-01T00:00:00Z",
        "aliases": [f"CVE-2024-{abs(hash(ident)) % 90000 + 10000}"],
        "summary": f"flaw in {ident}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "example"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }
    record.update(extra)
    return record


def osv_zip(records: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return out.getvalue()


def source(slug: str) -> FeedSource:
    sources_ensure()
    return FeedSource.objects.get(slug=slug)


def test_defaults_and_beat_schedules() -> None:
    sources_ensure()
    assert set(FeedSource.objects.values_list("slug", flat=True)) >= {
        "fedora-updateinfo", "bodhi", "azurelinux-oval", "redhat-csaf", "osv", "kev", "retired",
    }  # fmt: skip
    kev = PeriodicTask.objects.get(name="feed:kev")
    assert kev.task == "evidence.feeds.sync"
    assert kev.interval is not None and kev.interval.every == 24 * 3600
    assert kev.enabled  # KEV has a public URL configured by default
    assert not PeriodicTask.objects.get(name="feed:osv").enabled  # no URL yet: nothing to run
    osv = FeedSource.objects.get(slug="osv")
    osv.url = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
    osv.enabled = True
    osv.interval = timedelta(hours=3)
    osv.save()
    task = PeriodicTask.objects.get(name="feed:osv")
    assert task.enabled and task.interval is not None and task.interval.every == 3 * 3600


def test_file_sync_then_same_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kev.json"
    path.write_bytes(kev_catalog("CVE-2025-0108", "CVE-2024-3094"))
    first = feed_sync(source("kev"), path=path)
    assert first.status == RunStatus.OK, first.errors
    assert (first.advisories_created, first.advisories_unchanged) == (2, 0)
    assert str(KevEntry.objects.get(cve_id="CVE-2024-3094").due_date) == "2025-03-11"
    changed_at = KevEntry.objects.get(cve_id="CVE-2024-3094").changed_at
    second = feed_sync(source("kev"), path=path)
    assert (second.advisories_created, second.advisories_updated) == (0, 0)
    assert second.advisories_unchanged == 2
    assert KevEntry.objects.get(cve_id="CVE-2024-3094").changed_at == changed_at
    assert FeedPayload.objects.count() == 1  # the same bytes are kept once
    assert first.sha256 == second.sha256 == FeedPayload.objects.get().sha256


def test_url_sync_uses_etag_and_304() -> None:
    with feed_server() as server:
        server.routes["/kev.json"] = Route(body=kev_catalog("CVE-2025-0108"), etag='"v1"')
        kev = source("kev")
        kev.url = server.url("/kev.json")
        kev.save()
        first = feed_sync(kev)
        assert first.status == RunStatus.OK and first.advisories_created == 1
        kev.refresh_from_db()
        assert kev.etag == '"v1"'
        second = feed_sync(kev)
        assert second.status == RunStatus.OK and second.not_modified
        assert server.requests[-1][1].get("If-None-Match") == '"v1"'
        server.routes["/kev.json"] = Route(
            body=kev_catalog("CVE-2025-0108", "CVE-2024-3094"), etag='"v2"'
        )
        third = feed_sync(kev)
        assert (third.advisories_created, third.advisories_unchanged) == (1, 1)
    kev.refresh_from_db()
    assert kev.consecutive_failures == 0 and not kev.is_stale()


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route(status=500), "HTTP 500"),
        (Route(body=kev_catalog("CVE-2025-0108"), delay=2.5), "timeout"),
        (Route(body=kev_catalog("CVE-2025-0108"), truncate_to=40), "truncated"),
        (Route(status=404), "HTTP 404"),
        (Route(body=b"<html><body>Maintenance</body></html>"), "not json"),
    ],
    ids=["500", "slow", "truncated", "404", "not-a-feed"],
)
def test_bad_server_fails_the_run_and_keeps_what_was_stored(route: Route, message: str) -> None:
    kev = source("kev")
    with feed_server() as server:
        server.routes["/good.json"] = Route(body=kev_catalog("CVE-2025-0108"))
        assert feed_sync(kev, url=server.url("/good.json")).status == RunStatus.OK
        before = list(KevEntry.objects.values_list("cve_id", "digest", "changed_at"))
        server.routes["/kev.json"] = route
        kev.url = server.url("/kev.json")
        kev.save()
        run = feed_sync(kev)
    assert run.status == RunStatus.FAILED
    error = run.errors[0]
    assert message.lower() in (error["location"] + " " + error["message"]).lower(), run.errors
    assert list(KevEntry.objects.values_list("cve_id", "digest", "changed_at")) == before
    kev.refresh_from_db()
    assert kev.consecutive_failures == 1
    assert kev.last_error


def test_transient_errors_are_retried() -> None:
    with feed_server() as server:
        server.routes["/kev.json"] = Route(body=kev_catalog("CVE-2025-0108"), fail_times=2)
        run = feed_sync(source("kev"), url=server.url("/kev.json"))
        assert run.status == RunStatus.OK
        assert server.hits("/kev.json") == 3
        server.routes["/gone.json"] = Route(status=404)
        assert feed_sync(source("kev"), url=server.url("/gone.json")).status == RunStatus.FAILED
        assert server.hits("/gone.json") == 1  # a 404 is not retried


def test_only_http_urls_are_fetched() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x", "/etc/passwd"):
        with pytest.raises(FetchError, match="only http"):
            url_check(url)
    run = feed_sync(source("kev"), url="file:///etc/passwd")
    assert run.status == RunStatus.FAILED and "only http" in run.errors[0]["message"]


def test_newer_record_replaces_older_never_overwrites_newer(tmp_path: Path) -> None:
    osv = source("osv")
    newer = osv_record("PYSEC-1", modified="2024-06-01T00:00:00Z", fixed="2.0")
    older = osv_record("PYSEC-1", modified="2024-03-01T00:00:00Z", fixed="1.5")
    (tmp_path / "a.json").write_text(json.dumps(newer))
    assert feed_sync(osv, path=tmp_path / "a.json").advisories_created == 1
    (tmp_path / "b.json").write_text(json.dumps(older))
    run = feed_sync(osv, path=tmp_path / "b.json")
    assert (run.advisories_updated, run.advisories_unchanged) == (0, 1)
    fixed = AffectedPackage.objects.get(advisory__external_id="PYSEC-1").fixed_version
    assert fixed == "2.0"
    newest = osv_record("PYSEC-1", modified="2024-09-01T00:00:00Z", fixed="2.1")
    (tmp_path / "c.json").write_text(json.dumps(newest))
    assert feed_sync(osv, path=tmp_path / "c.json").advisories_updated == 1
    assert AffectedPackage.objects.get(advisory__external_id="PYSEC-1").fixed_version == "2.1"
    assert Advisory.objects.get(external_id="PYSEC-1").modified_at == datetime(
        2024, 9, 1, tzinfo=UTC
    )


def test_withdrawn_advisory_is_marked_not_deleted(tmp_path: Path) -> None:
    osv = source("osv")
    (tmp_path / "a.json").write_text(
        json.dumps(osv_record("GHSA-1", modified="2024-06-01T00:00:00Z"))
    )
    feed_sync(osv, path=tmp_path / "a.json")
    withdrawn = osv_record(
        "GHSA-1", modified="2024-07-01T00:00:00Z", withdrawn="2024-07-01T00:00:00Z"
    )
    (tmp_path / "b.json").write_text(json.dumps(withdrawn))
    feed_sync(osv, path=tmp_path / "b.json")
    advisory = Advisory.objects.get(external_id="GHSA-1")
    assert advisory.withdrawn_at == datetime(2024, 7, 1, tzinfo=UTC)
    assert advisory.affected.count() == 1


def test_one_bad_record_makes_the_run_partial(tmp_path: Path) -> None:
    records = [osv_record(f"PYSEC-{i}", modified="2024-06-01T00:00:00Z") for i in range(50)]
    records[17] = {"id": "PYSEC-17", "affected": "not a list"}
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    run = feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert run.status == RunStatus.PARTIAL
    assert run.advisories_created == 49 and run.records_failed == 1
    assert "PYSEC-17" in run.errors[0]["location"] + run.errors[0]["message"]
    assert not Advisory.objects.filter(external_id="PYSEC-17").exists()


def test_truncated_archive_fails_and_changes_nothing(tmp_path: Path) -> None:
    records = [osv_record(f"PYSEC-{i}", modified="2024-06-01T00:00:00Z") for i in range(20)]
    data = osv_zip(records)
    (tmp_path / "good.zip").write_bytes(data)
    feed_sync(source("osv"), path=tmp_path / "good.zip")
    before = list(Advisory.objects.values_list("external_id", "digest"))
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    run = feed_sync(source("osv"), path=tmp_path / "cut.zip")
    assert run.status == RunStatus.FAILED
    assert "zip" in run.errors[0]["message"].lower()
    assert list(Advisory.objects.values_list("external_id", "digest")) == before


def test_directory_with_one_unreadable_file_is_partial(tmp_path: Path) -> None:
    for i in range(3):
        record = osv_record(f"GO-2024-{i}", modified="2024-06-01T00:00:00Z")
        (tmp_path / f"GO-2024-{i}.json").write_text(json.dumps(record))
    (tmp_path / "broken.json").write_text('{"id": "GO-2024-9", "modified": ')
    run = feed_sync(source("osv"), path=tmp_path)
    assert run.status == RunStatus.PARTIAL
    assert run.advisories_created == 3 and run.records_failed == 1
    assert run.errors[0]["location"].startswith("broken.json")


def test_csaf_changes_index_fetches_only_what_changed() -> None:
    fixtures = ROOT.parent / "shared" / "fixtures" / "csaf"
    if not fixtures.is_dir():
        pytest.skip(f"shared fixtures not found at {fixtures}")
    first = (fixtures / "vunnel_rhsa-2024_6163.json").read_bytes()
    second = (fixtures / "vunnel_rhsa-2024_9371.json").read_bytes()
    with feed_server() as server:
        server.routes["/csaf/2024/rhsa-2024_6163.json"] = Route(body=first)
        server.routes["/csaf/2024/rhsa-2024_9371.json"] = Route(body=second)
        server.routes["/csaf/changes.csv"] = Route(
            body=b'"2024/rhsa-2024_6163.json","2024-09-03T10:00:00+00:00"\n',
            etag='"c1"',
            content_type="text/csv",
        )
        csaf = source("redhat-csaf")
        csaf.url = server.url("/csaf/changes.csv")
        csaf.save()
        run = feed_sync(csaf)
        assert run.status == RunStatus.OK, run.errors
        assert Advisory.objects.filter(source="redhat-csaf", external_id="RHSA-2024:6163").exists()
        assert feed_sync(csaf).not_modified
        server.routes["/csaf/changes.csv"] = Route(
            body=b'"2024/rhsa-2024_9371.json","2024-11-12T10:00:00+00:00"\n'
            b'"2024/rhsa-2024_6163.json","2024-09-03T10:00:00+00:00"\n',
            etag='"c2"',
            content_type="text/csv",
        )
        run = feed_sync(csaf)
        assert run.status == RunStatus.OK, run.errors
        assert run.advisories_created == 1 and run.documents == 1
        assert server.hits("/csaf/2024/rhsa-2024_6163.json") == 1  # not fetched again


def test_sync_feed_command_json_and_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "kev.json"
    path.write_bytes(kev_catalog("CVE-2025-0108"))
    out = io.StringIO()
    call_command("sync_feed", "kev", "--file", str(path), "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "ok" and summary["advisories_created"] == 1
    assert set(summary) >= {
        "source", "status", "advisories_created", "advisories_updated", "advisories_unchanged",
        "affected_packages", "records_failed", "errors", "sha256", "fetched_at",
    }  # fmt: skip
    assert len(summary["sha256"]) == 64
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    with pytest.raises(SystemExit) as exit_info:
        call_command("sync_feed", "kev", "--file", str(bad), "--json", stdout=io.StringIO())
    assert exit_info.value.code == 2


def test_sync_feed_command_unknown_source() -> None:
    with pytest.raises(CommandError, match="no feed source 'nope'"):
        call_command("sync_feed", "nope", "--file", "x.json")


def test_feeds_page_shows_health(client: Client, django_user_model: Any) -> None:
    from tests.factories import MembershipFactory

    membership = MembershipFactory.create()
    client.force_login(membership.user)
    kev = source("kev")
    feed_sync(kev, url="http://127.0.0.1:9/kev.json")  # nothing listens: a failure
    osv = source("osv")
    FeedSource.objects.filter(pk=osv.pk).update(
        last_success_at=timezone.now() - timedelta(days=3), interval=timedelta(hours=6)
    )
    page = client.get(f"/o/{membership.organization.slug}/feeds/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Failing" in text and "Stale" in text and "Never synced" in text
    detail = client.get(f"/o/{membership.organization.slug}/feeds/kev/")
    assert "cannot connect" in detail.content.decode()
    assert FeedRun.objects.filter(source=kev, status=RunStatus.FAILED).count() == 1


def test_bodhi_list_pages_are_followed() -> None:
    fixtures = ROOT.parent / "shared" / "fixtures" / "fedora-bodhi"
    if not fixtures.is_dir():
        pytest.skip(f"shared fixtures not found at {fixtures}")
    updates = [json.loads(p.read_bytes()) for p in sorted(fixtures.glob("*.json"))]
    pages = [updates[:2], updates[2:4], updates[4:]]

    def page(number: int) -> bytes:
        body = {"updates": pages[number - 1], "page": number, "pages": 3, "total": 5}
        return json.dumps(body).encode()

    with feed_server() as server:
        server.routes["/updates/?releases=F40"] = Route(body=page(1))
        server.routes["/updates/?releases=F40&page=2"] = Route(body=page(2))
        server.routes["/updates/?releases=F40&page=3"] = Route(body=page(3))
        run = feed_sync(source("bodhi"), url=server.url("/updates/?releases=F40"))
    assert run.status == RunStatus.OK, run.errors
    assert run.documents == 3 and run.advisories_created == 5
    assert Advisory.objects.filter(source="bodhi").count() == 5


FIXTURE_DIRS = [
    ("fedora-updateinfo", "updateinfo"),
    ("bodhi", "fedora-bodhi"),
    ("azurelinux-oval", "oval"),
    ("redhat-csaf", "csaf"),
    ("osv", "osv"),
    ("kev", "kev"),
]


@pytest.mark.parametrize(("slug", "folder"), FIXTURE_DIRS)
def test_real_fixtures_sync_and_a_second_sync_changes_nothing(slug: str, folder: str) -> None:
    path = ROOT.parent / "shared" / "fixtures" / folder
    if not path.is_dir():
        pytest.skip(f"shared fixtures not found at {path}")
    first = feed_sync(source(slug), path=path)
    assert first.status in (RunStatus.OK, RunStatus.PARTIAL), first.errors
    assert first.advisories_created > 0
    snapshot = sorted(Advisory.objects.values_list("source", "external_id", "digest", "changed_at"))
    affected = AffectedPackage.objects.count()
    second = feed_sync(source(slug), path=path)
    assert second.status == first.status
    assert (second.advisories_created, second.advisories_updated) == (0, 0)
    assert second.advisories_unchanged == (
        first.advisories_created + first.advisories_updated + first.advisories_unchanged
    )
    assert (
        sorted(Advisory.objects.values_list("source", "external_id", "digest", "changed_at"))
        == snapshot
    )
    assert AffectedPackage.objects.count() == affected


def test_shipped_deepin_retirement_list_syncs() -> None:
    path = ROOT / "evidence" / "feeds" / "data" / "fedora-deepin-retired.json"
    run = feed_sync(source("retired"), path=path)
    assert run.status == RunStatus.OK, run.errors
    from evidence.models import RetiredPackage

    assert RetiredPackage.objects.count() == run.advisories_created > 30
    deepin = RetiredPackage.objects.get(name="deepin-terminal")
    assert deepin.distro.startswith("fedora") and str(deepin.retired_at) == "2026-05-19"
    assert deepin.reference_url.startswith("https://")
