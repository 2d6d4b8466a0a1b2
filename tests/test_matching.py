"""Exposures, computed by hand: fixed clocks, real SBOM ingests, real feed records.

Every scenario runs the product's own paths (SBOM ingest and feed sync trigger matching once
their transaction commits) and then checks that a full `recompute_exposures` finds nothing to
change: the incremental and the full computation agree.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from evidence.feeds import model as feed
from evidence.feeds.store import advisories_store, kev_store
from evidence.feeds.sync import _match_later
from evidence.ingest import sbom_ingest, sbom_receive
from evidence.models import Exposure, Fleet, Host
from tests.factories import FleetFactory, HostFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def day(month: int, dom: int, year: int = 2026) -> datetime:
    return datetime(year, month, dom, 12, tzinfo=UTC)


def rpm_purl(name: str, evr: str, distro: str = "fedora-40") -> str:
    epoch, _, vr = evr.rpartition(":")
    qualifiers = f"arch=x86_64&distro={distro}" + (f"&epoch={epoch}" if epoch else "")
    return f"pkg:rpm/fedora/{name}@{vr}?{qualifiers}"


def cyclonedx(when: datetime, packages: dict[str, str], distro: str = "fedora-40") -> bytes:
    components = [
        {
            "type": "library",
            "bom-ref": f"{name}-{evr}",
            "name": name,
            "version": evr.rpartition(":")[2],
            "purl": rpm_purl(name, evr, distro),
        }
        for name, evr in sorted(packages.items())
    ]
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"timestamp": when.isoformat().replace("+00:00", "Z")},
            "components": components,
        }
    ).encode()


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks: Any) -> Iterator[Callable[..., Any]]:
    """Run a callable and then its on-commit work (the matching tasks), as production does."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    yield run


@pytest.fixture
def fleet() -> Fleet:
    return FleetFactory.create(distribution="fedora-40", sla_profile="balanced")


@pytest.fixture
def snapshot(fleet: Fleet, run_commits: Callable[..., Any]) -> Callable[..., Host]:
    def take(hostname: str, when: datetime, packages: dict[str, str]) -> Host:
        host = Host.objects.filter(fleet=fleet, hostname=hostname).first() or HostFactory.create(
            fleet=fleet, hostname=hostname
        )
        data = cyclonedx(when, packages)
        document = sbom_receive(
            organization=fleet.organization, data=data, size=len(data), host=host, dispatch=False
        )
        run_commits(sbom_ingest, document_id=document.pk)
        host.refresh_from_db()
        return host

    return take


@pytest.fixture
def advisory(run_commits: Callable[..., Any]) -> Callable[..., Any]:
    def publish(
        external_id: str,
        published: datetime,
        rows: list[tuple[str, str, datetime | None]],
        *,
        source: str = "fedora-updateinfo",
        severity: str = "medium",
        cvss: float | None = None,
        cves: tuple[str, ...] = (),
        distro: str = "fedora-40",
        package_type: str = "rpm",
        module: str = "",
    ) -> None:
        record = feed.Advisory(
            source=source,
            external_id=external_id,
            title=f"{external_id} title",
            severity=severity,
            cvss_score=cvss,
            published_at=published,
            modified_at=published,
            aliases=cves,
            affected=[
                feed.Affected(
                    package_type=package_type,
                    name=name,
                    distro=distro,
                    vers=f"vers:{package_type}/<{fixed}",
                    fixed_version=fixed,
                    fix_available_at=fix_at,
                    module=module,
                )
                for name, fixed, fix_at in rows
            ],
        )

        def store() -> None:
            counts = advisories_store(source, [record], payload=None)
            _match_later(counts)

        run_commits(store)

    return publish


def exposures(host: Host) -> list[Exposure]:
    return list(Exposure.objects.filter(host=host).order_by("window_start", "advisory_id"))


def assert_recompute_changes_nothing(fleet: Fleet) -> None:
    out = io.StringIO()
    call_command("recompute_exposures", "--org", fleet.organization.slug, "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["created"], summary["updated"], summary["deleted"]) == (0, 0, 0), summary


def test_advisory_before_the_host_existed(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    advisory("FEDORA-2026-0001", day(1, 1), [("openssl", "1:3.2.2-1.fc40", day(1, 1))])
    host = snapshot("web-1", day(2, 1), {"openssl": "1:3.2.1-2.fc40", "bash": "5.2.26-3.fc40"})
    snapshot("web-1", day(2, 20), {"openssl": "1:3.2.2-1.fc40", "bash": "5.2.26-3.fc40"})
    [exposure] = exposures(host)
    assert exposure.package_name == "openssl"
    assert exposure.published_at == day(1, 1)
    assert exposure.fix_available_at == day(1, 1)
    assert exposure.window_start == day(2, 1)
    assert exposure.detected_at == day(2, 1)
    assert exposure.fixed_at == day(2, 20)
    assert exposure.closed_reason == "upgraded"
    # Balanced, medium severity: P3, 90 days from host first seen (later than the fix).
    assert exposure.tier == "P3"
    assert exposure.due_at == day(2, 1) + timedelta(days=90)
    assert exposure.status_at(NOW) == "fixed_in_sla"
    assert_recompute_changes_nothing(fleet)


def test_fix_installed_before_the_advisory_was_published(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    host = snapshot("web-1", day(1, 1), {"openssl": "1:3.2.1-2.fc40"})
    snapshot("web-1", day(1, 10), {"openssl": "1:3.2.2-1.fc40"})
    advisory("FEDORA-2026-0002", day(1, 15), [("openssl", "1:3.2.2-1.fc40", day(1, 5))])
    assert exposures(host) == []
    assert_recompute_changes_nothing(fleet)


def test_fix_installed_late(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    host = snapshot("db-1", day(1, 1), {"postgresql": "16.1-1.fc40"})
    advisory("FEDORA-2026-0003", day(1, 10), [("postgresql", "16.2-1.fc40", day(1, 12))], cvss=8.1)
    snapshot("db-1", day(3, 1), {"postgresql": "16.2-1.fc40"})
    [exposure] = exposures(host)
    assert exposure.window_start == day(1, 1)
    assert exposure.detected_at == day(3, 1) or exposure.detected_at is None
    assert exposure.tier == "P2"  # CVSS >= 7: 30 days from the fix being available
    assert exposure.due_at == day(1, 12) + timedelta(days=30)
    assert exposure.fixed_at == day(3, 1)
    assert exposure.status_at(NOW) == "fixed_late"
    assert_recompute_changes_nothing(fleet)


def test_out_of_order_snapshots_give_the_same_exposures(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    advisory("FEDORA-2026-0004", day(1, 1), [("curl", "8.6.0-1.fc40", day(1, 2))])
    snapshot("a", day(2, 1), {"curl": "8.5.0-1.fc40"})
    snapshot("a", day(3, 1), {"curl": "8.6.0-1.fc40"})
    snapshot("b", day(3, 1), {"curl": "8.6.0-1.fc40"})  # b: the later snapshot arrives first
    host_b = snapshot("b", day(2, 1), {"curl": "8.5.0-1.fc40"})
    host_a = Host.objects.get(hostname="a")
    fields = ("window_start", "detected_at", "fixed_at", "closed_reason", "tier", "due_at")
    [a], [b] = exposures(host_a), exposures(host_b)
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    assert b.fixed_at == day(3, 1) and b.closed_reason == "upgraded"
    assert_recompute_changes_nothing(fleet)


def test_downgrade_reopens_as_a_regression(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    advisory("FEDORA-2026-0005", day(1, 1), [("sudo", "1.9.15-2.fc40", day(1, 1))])
    snapshot("h", day(2, 1), {"sudo": "1.9.15-1.fc40"})
    snapshot("h", day(2, 10), {"sudo": "1.9.15-2.fc40"})
    host = snapshot("h", day(11, 1), {"sudo": "1.9.15-1.fc40"})
    first, second = exposures(host)
    assert (first.closed_reason, first.fixed_at) == ("upgraded", day(2, 10))
    assert second.regression and second.fixed_at is None
    assert second.window_start == day(11, 1)
    assert second.status_at(day(11, 2)) == "regressed"
    assert_recompute_changes_nothing(fleet)


def test_package_removed_closes_the_window(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    advisory("FEDORA-2026-0006", day(1, 1), [("telnet", "1:0.17-90.fc40", None)])
    snapshot("h", day(2, 1), {"telnet": "1:0.17-89.fc40", "bash": "5.2.26-3.fc40"})
    host = snapshot("h", day(2, 5), {"bash": "5.2.26-3.fc40"})
    [exposure] = exposures(host)
    assert (exposure.closed_reason, exposure.fixed_at) == ("removed", day(2, 5))
    assert exposure.fixed_by_id is None
    assert_recompute_changes_nothing(fleet)


def test_kev_added_mid_window_changes_tier_and_due_date(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    advisory(
        "FEDORA-2026-0007",
        day(3, 1),
        [("glibc", "2.39-9.fc40", day(3, 2))],
        cves=("CVE-2026-1111",),
    )
    host = snapshot("h", day(3, 5), {"glibc": "2.39-8.fc40"})
    [before] = exposures(host)
    assert before.tier == "P3" and before.kev_added_at is None

    def add_kev() -> None:
        counts = kev_store(
            [
                feed.KevEntry(
                    cve_id="CVE-2026-1111",
                    vendor="GNU",
                    product="glibc",
                    name="glibc flaw",
                    date_added=date(2026, 3, 20),
                    due_date=date(2026, 4, 10),
                )
            ]
        )
        _match_later(counts)

    run_commits(add_kev)
    [after] = exposures(host)
    assert after.pk == before.pk
    assert after.kev_added_at == datetime(2026, 3, 20, tzinfo=UTC)
    assert after.tier == "P1"  # KEV: 14 days from host first seen (later than the fix)
    assert after.due_at == day(3, 5) + timedelta(days=14)
    assert_recompute_changes_nothing(fleet)


def test_same_cve_through_a_fedora_update_and_an_osv_record(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    advisory(
        "FEDORA-2026-0008",
        day(4, 2),
        [("xz", "5.6.2-1.fc40", day(4, 3))],
        cves=("CVE-2026-2222",),
    )
    advisory(
        "OSV-2026-0008",
        day(4, 1),
        [("xz", "5.6.2-1.fc40", day(4, 1))],
        source="osv",
        cves=("CVE-2026-2222",),
    )
    host = snapshot("h", day(4, 10), {"xz": "5.6.1-1.fc40"})
    found = {e.advisory.source: e for e in exposures(host)}
    assert set(found) == {"fedora-updateinfo", "osv"}
    assert found["fedora-updateinfo"].fix_available_at == day(4, 3)
    assert_recompute_changes_nothing(fleet)


def test_other_distributions_never_match(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    advisory("DSA-9999-1", day(1, 1), [("openssl", "3.9.9-1", None)], distro="debian-12")
    advisory("RHSA-2026:0001", day(1, 1), [("openssl", "1:3.9.9-1.el9", None)], distro="rhel-9")
    host = snapshot("h", day(2, 1), {"openssl": "1:3.2.1-2.fc40"})
    assert exposures(host) == []


def test_retired_deepin_package_is_a_finding_until_removed(
    snapshot: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    from pathlib import Path

    from evidence.feeds.sync import feed_sync, sources_ensure
    from evidence.models import FeedSource

    host = snapshot("desk", day(5, 1), {"deepin-terminal": "6.0.12-1.fc40", "bash": "5.2-1.fc40"})
    other = snapshot("server", day(5, 1), {"bash": "5.2-1.fc40"})
    sources_ensure()
    data = Path(__file__).resolve().parents[1] / "evidence/feeds/data/fedora-deepin-retired.json"
    run = run_commits(feed_sync, FeedSource.objects.get(slug="retired"), path=data)
    assert run.status == "ok", run.errors
    [finding] = exposures(host)
    assert finding.advisory.source == "retired"
    assert finding.advisory.external_id == "fedora/rpm/deepin-terminal"
    assert finding.published_at == datetime(2026, 5, 19, tzinfo=UTC)  # the retirement date
    assert finding.window_start == day(5, 1) and finding.fixed_at is None
    # Balanced: remove or migrate within 30 days of the retirement (host seen earlier).
    assert finding.due_at == datetime(2026, 5, 19, tzinfo=UTC) + timedelta(days=30)
    assert finding.status_at(NOW) == "overdue"
    assert exposures(other) == []
    snapshot("desk", day(7, 1), {"bash": "5.2-1.fc40"})
    [finding] = exposures(host)
    assert (finding.closed_reason, finding.fixed_at) == ("removed", day(7, 1))
    assert finding.status_at(NOW) == "fixed_late"
    assert_recompute_changes_nothing(fleet)


def test_exception_approved_then_expired(snapshot: Any, advisory: Any, fleet: Fleet) -> None:
    from evidence.exceptions import ExceptionRefused, exception_approve, exception_request
    from portal.accounts.models import AuditEvent
    from tests.factories import MembershipFactory

    advisory("FEDORA-2026-0009", day(1, 1), [("nginx", "1.26.2-1.fc40", day(1, 1))], cvss=7.5)
    host = snapshot("web", day(1, 5), {"nginx": "1.26.1-1.fc40"})
    [exposure] = exposures(host)
    assert exposure.status_at(day(3, 1)) == "overdue"  # P2: 30 days from 5 January
    officer = MembershipFactory.create(organization=fleet.organization).user
    ciso = MembershipFactory.create(organization=fleet.organization).user
    exception = exception_request(
        fleet=fleet,
        exposure=exposure,
        requested_by=officer,
        justification="WAF rule blocks the vulnerable path until the March window",
        compensating_controls="WAF rule 9411",
        expires_at=day(3, 31),
        now=day(1, 20),
    )
    assert exposure.status_at(day(2, 10)) == "overdue"  # requested is not approved
    with pytest.raises(ExceptionRefused, match="cannot approve"):
        exception_approve(exception=exception, approver=officer, now=day(1, 21))
    exception_approve(exception=exception, approver=ciso, now=day(1, 21))
    assert exposure.status_at(day(2, 10)) == "excepted"
    assert exposure.status_at(day(4, 1)) == "overdue"  # expired: it counts again
    annotated = Exposure.objects.with_status(day(2, 10)).get(pk=exposure.pk)
    assert annotated.current_status == "excepted"  # type: ignore[attr-defined]
    assert Exposure.objects.with_status(day(4, 1)).get(pk=exposure.pk).current_status == "overdue"  # type: ignore[attr-defined]
    with pytest.raises(ExceptionRefused, match="90 days"):
        exception_request(
            fleet=fleet,
            advisory=exposure.advisory,
            requested_by=officer,
            justification="x",
            expires_at=day(1, 20) + timedelta(days=91),
            now=day(1, 20),
        )
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "exception.requested" in actions and "exception.approved" in actions


def openvex(cve: str, purl: str, status: str = "not_affected") -> bytes:
    return json.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.test/vex/2026-0001",
            "author": "Example Security",
            "timestamp": "2026-03-01T00:00:00Z",
            "version": 1,
            "statements": [
                {
                    "vulnerability": {"name": cve},
                    "products": [{"@id": purl}],
                    "status": status,
                    "justification": "vulnerable_code_not_in_execute_path",
                }
            ],
        }
    ).encode()


def test_vex_arriving_after_detection_closes_the_exposure(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    from evidence.vex_upload import vex_receive

    advisory(
        "FEDORA-2026-0010",
        day(1, 1),
        [("libxml2", "2.12.8-1.fc40", day(1, 2))],
        cves=("CVE-2026-3333",),
    )
    host = snapshot("h", day(1, 10), {"libxml2": "2.12.7-1.fc40"})
    [exposure] = exposures(host)
    assert exposure.status_at(NOW) == "overdue"
    upload = run_commits(
        vex_receive,
        organization=fleet.organization,
        data=openvex("CVE-2026-3333", "pkg:rpm/fedora/libxml2@2.12.7-1.fc40?arch=x86_64"),
        filename="libxml2.openvex.json",
    )
    assert upload.status == "accepted", upload.error
    [exposure] = exposures(host)
    assert exposure.closed_reason == "not_affected"
    assert exposure.status_at(NOW) == "not_affected"
    assert "libxml2.openvex.json" in exposure.vex_note
    assert "vulnerable_code_not_in_execute_path" in exposure.vex_note
    assert_recompute_changes_nothing(fleet)


def test_unreadable_vex_is_kept_rejected_and_changes_nothing(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    from evidence.vex_upload import vex_receive

    advisory("FEDORA-2026-0011", day(1, 1), [("zlib", "1.3.1-1.fc40", None)], cves=("CVE-1",))
    host = snapshot("h", day(1, 10), {"zlib": "1.3-1.fc40"})
    before = [(e.pk, e.closed_reason) for e in exposures(host)]
    upload = run_commits(
        vex_receive, organization=fleet.organization, data=b'{"statements": [', filename="x"
    )
    assert upload.status == "rejected" and upload.error
    assert [(e.pk, e.closed_reason) for e in exposures(host)] == before


def test_upstream_vex_not_affected_suppresses_another_advisory_for_that_cve(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    advisory(
        "OSV-2026-0012",
        day(1, 1),
        [("bind", "9.18.30-1.fc40", day(1, 1))],
        source="osv",
        cves=("CVE-2026-4444",),
    )
    record = feed.Advisory(
        source="redhat-csaf",
        external_id="CVE-2026-4444",
        kind="vex",
        published_at=day(1, 3),
        modified_at=day(1, 3),
        affected=[
            feed.Affected(
                package_type="rpm",
                name="bind",
                distro="fedora-40",
                status="not_affected",
                justification="vulnerable_code_not_present",
            )
        ],
    )

    def store() -> None:
        _match_later(advisories_store("redhat-csaf", [record], payload=None))

    host = snapshot("dns", day(1, 10), {"bind": "9.18.29-1.fc40"})
    assert exposures(host)[0].closed_reason == ""
    run_commits(store)
    [exposure] = exposures(host)
    assert exposure.closed_reason == "not_affected"
    assert exposure.vex_note.startswith("redhat-csaf CVE-2026-4444: not affected")
    assert_recompute_changes_nothing(fleet)


def test_source_rpm_names_reach_their_binaries_but_nothing_else() -> None:
    from evidence.package_versions import source_name

    assert (
        source_name(
            "pkg:rpm/redhat/python3-libs@3.9.18-3.el9?arch=x86_64&upstream=python3.9-3.9.18-3.el9.src.rpm"
        )
        == "python3.9"
    )
    assert source_name("pkg:rpm/fedora/openssl@3.2.1-2.fc40?arch=x86_64") == ""
    assert source_name("pkg:rpm/x/y@1-1?upstream=garbage") == ""


def test_a_source_only_row_matches_binaries_from_a_later_snapshot(
    fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    record = feed.Advisory(
        source="redhat-csaf",
        external_id="RHSA-2026:0100",
        severity="high",
        published_at=day(1, 1),
        modified_at=day(1, 1),
        affected=[
            feed.Affected(
                package_type="rpm",
                name="python3.9",
                distro="fedora-40",
                arch="src",
                vers="vers:rpm/<3.9.19-1.fc40",
                fixed_version="3.9.19-1.fc40",
                fix_available_at=day(1, 1),
            )
        ],
    )
    run_commits(lambda: _match_later(advisories_store("redhat-csaf", [record], payload=None)))
    host = HostFactory.create(fleet=fleet, hostname="py")
    upstream = "&upstream=python3.9-3.9.18-1.fc40.src.rpm"
    components = [
        {
            "type": "library",
            "name": name,
            "version": "3.9.18-1.fc40",
            "purl": f"pkg:rpm/fedora/{name}@3.9.18-1.fc40?arch=x86_64&distro=fedora-40{upstream}",
        }
        for name in ("python3", "python3-libs")
    ] + [
        {
            "type": "library",
            "name": "python3.9-unrelated",
            "version": "3.9.18-1.fc40",
            "purl": "pkg:rpm/fedora/python3.9-unrelated@3.9.18-1.fc40?arch=x86_64&distro=fedora-40",
        }
    ]
    data = json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"timestamp": "2026-02-01T12:00:00Z"},
            "components": components,
        }
    ).encode()
    document = sbom_receive(
        organization=fleet.organization, data=data, size=len(data), host=host, dispatch=False
    )
    run_commits(sbom_ingest, document_id=document.pk)
    assert sorted(e.package_name for e in exposures(host)) == ["python3", "python3-libs"]
    assert_recompute_changes_nothing(fleet)
