"""Ingest through the real service: snapshots to ledger, late arrivals, rebuild, rejections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.demo import demo_sbom
from evidence.ingest import host_resolve, sbom_ingest, sbom_receive
from evidence.ledger import ledger_intervals
from evidence.models import Fleet, Host, Package, PackageInterval, SbomDocument
from tests.factories import FleetFactory

T0 = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def fleet(db: None) -> Fleet:
    return FleetFactory.create(slug="web", distribution="azurelinux-4")


def ingest(host: Host, data: bytes) -> SbomDocument:
    doc = sbom_receive(
        organization=host.fleet.organization, data=data, size=len(data), host=host, dispatch=False
    )
    return sbom_ingest(document_id=doc.pk) if doc.status == "queued" else doc


def snapshot(host: Host, day: int, *, later: bool) -> bytes:
    return demo_sbom(
        hostname=host.hostname,
        distribution="azurelinux-4",
        taken_at=T0 + timedelta(days=day),
        later=later,
    )


def test_snapshot_time_comes_from_the_document(fleet: Fleet) -> None:
    host = host_resolve(fleet=fleet, hostname="web-01")
    doc = ingest(host, snapshot(host, 0, later=False))

    assert doc.status == "ingested"
    assert doc.snapshot_at == T0
    assert doc.document_created_at == T0
    assert doc.received_at > T0
    host.refresh_from_db()
    assert host.first_seen_at == host.last_seen_at == T0
    # The demo Azure Linux 4 SBOM lists 9 packages.
    assert doc.packages_added == doc.component_count == 9
    assert PackageInterval.objects.filter(host=host, present_until__isnull=True).count() == 9


def test_future_creation_time_falls_back_to_receipt_with_a_warning(fleet: Fleet) -> None:
    host = host_resolve(fleet=fleet, hostname="web-01")
    future = datetime.now(UTC) + timedelta(days=3)
    data = demo_sbom(hostname="web-01", distribution="azurelinux-4", taken_at=future, later=False)
    doc = ingest(host, data)

    assert doc.status == "ingested"
    assert doc.snapshot_at == doc.received_at
    assert doc.document_created_at is None
    assert any("in the future" in w for w in doc.warnings)


def test_upgrade_snapshot_closes_and_opens_intervals(fleet: Fleet) -> None:
    host = host_resolve(fleet=fleet, hostname="web-01")
    ingest(host, snapshot(host, 0, later=False))
    second = ingest(host, snapshot(host, 7, later=True))

    # openssl, openssh, curl and the kernel were upgraded in the demo's later snapshot.
    assert (second.packages_added, second.packages_removed) == (4, 4)
    closed = PackageInterval.objects.filter(host=host, present_until=T0 + timedelta(days=7))
    assert sorted(closed.values_list("package__name", flat=True)) == [
        "curl",
        "kernel",
        "openssh",
        "openssl",
    ]


def test_late_sbom_is_placed_into_history_and_rebuild_agrees(fleet: Fleet) -> None:
    host = host_resolve(fleet=fleet, hostname="web-01")
    ingest(host, snapshot(host, 0, later=False))
    ingest(host, snapshot(host, 10, later=True))
    late = ingest(host, snapshot(host, 5, later=False))  # taken between the two, arrives last

    assert late.status == "ingested"
    assert late.snapshot_at == T0 + timedelta(days=5)
    openssl_old = PackageInterval.objects.get(
        host=host, package__name="openssl", package__version="3.2.2-3.azl4"
    )
    assert (openssl_old.present_from, openssl_old.present_until) == (T0, T0 + timedelta(days=10))
    incremental = ledger_intervals(host=host)

    out = StringIO()
    call_command(
        "rebuild_ledger", f"--org={fleet.organization.slug}", "--host=web-01", "--json", stdout=out
    )
    assert json.loads(out.getvalue())["snapshots"] == 3
    assert ledger_intervals(host=host) == incremental


def test_same_document_twice_is_a_duplicate_and_changes_nothing(fleet: Fleet) -> None:
    host = host_resolve(fleet=fleet, hostname="web-01")
    data = snapshot(host, 0, later=False)
    ingest(host, data)
    before = ledger_intervals(host=host)

    again = ingest(host, data)

    assert again.status == "duplicate"
    assert ledger_intervals(host=host) == before
    assert SbomDocument.objects.filter(status="ingested").count() == 1


def test_rejected_document_writes_no_packages_or_intervals(fleet: Fleet) -> None:
    host = host_resolve(fleet=fleet, hostname="web-01")
    ingest(host, snapshot(host, 0, later=False))
    packages, intervals = Package.objects.count(), PackageInterval.objects.count()
    other = host_resolve(fleet=fleet, hostname="web-02")

    bad = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "not a list"}'
    doc = ingest(other, bad)

    assert doc.status == "rejected"
    assert "components" in doc.error
    assert (Package.objects.count(), PackageInterval.objects.count()) == (packages, intervals)


def test_image_sbom_without_host_is_parsed_but_opens_no_ledger(fleet: Fleet) -> None:
    data = snapshot(host_resolve(fleet=fleet, hostname="golden"), 0, later=False)
    doc = sbom_receive(
        organization=fleet.organization, data=data, size=len(data), fleet=fleet, dispatch=False
    )
    doc = sbom_ingest(document_id=doc.pk)

    assert doc.status == "ingested"
    assert doc.component_count == 9
    assert not PackageInterval.objects.exists()


def test_ingest_sbom_command_json_and_exit_codes(fleet: Fleet, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(
        demo_sbom(hostname="web-01", distribution="azurelinux-4", taken_at=T0, later=False)
    )
    out = StringIO()
    call_command(
        "ingest_sbom", str(good), f"--org={fleet.organization.slug}", "--fleet=web",
        "--host=web-01", "--json", stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    assert result["status"] == "ingested"
    assert result["format"] == "cyclonedx"
    assert result["encoding"] == "json"
    assert result["spec_version"] == "1.5"
    assert result["components"] == 9
    assert result["error"] is None
    assert len(result["sha256"]) == 64

    bad = tmp_path / "bad.json"
    bad.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [')
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "ingest_sbom", str(bad), f"--org={fleet.organization.slug}", "--json", stdout=out
        )
    assert raised.value.returncode == 3
    rejected = json.loads(out.getvalue())
    assert rejected["status"] == "rejected"
    assert rejected["error"]
