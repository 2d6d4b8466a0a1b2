"""Exposures on the real fixtures (../shared/fixtures): RHEL 9, Azure Linux 3.0 and CentOS 7.

Every advisory comes from a real feed document through `feed_sync`, every SBOM goes through
`sbom_receive` + `sbom_ingest`, and the matching runs as the on-commit tasks do in production.
Where no real SBOM lists a package the real advisories are about, the host's SBOM is built with
`cyclonedx(...)` from real package names and versions of the advisory (said in the test).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from evidence.feeds.sync import feed_sync, sources_ensure
from evidence.ingest import sbom_ingest, sbom_receive
from evidence.models import FeedSource, Fleet, Host, Package
from tests.factories import FleetFactory, HostFactory
from tests.test_matching import (
    assert_recompute_changes_nothing,
    cyclonedx,
    day,
    exposures,
)
from tests.test_matching import (
    run_commits as run_commits,  # re-exported: the fixture, used by name
)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
NOW = datetime(2026, 11, 26, tzinfo=UTC)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"shared fixtures absent: {FIXTURES}"),
]

RHSA_6163 = "csaf/vunnel_rhsa-2024_6163.json"  # python3.9 < 3.9.18-3.el9_4.5, 2024-09-03
RHSA_9371 = "csaf/vunnel_rhsa-2024_9371.json"  # python3.9 < 3.9.19-8.el9, 2024-11-12
AZURE_OVAL = "oval/vunnel_azure-linux-3.0-oval-truncated.xml"  # freeglut x2, ceph
FEDORA_BODHI = "fedora-bodhi/vunnel_FEDORA-2023-f6ff3f85eb.json"  # httpd < 2.4.55-1.fc37
UBI9_SYFT = "spdx/trustify_syft-1.8.0_ubi9_image_TRIMMED-no-files.spdx2.3.json"
UBI9_MICRO = "spdx/redhat_ubi9-micro-container-9.4-6_amd64_release.spdx2.3.json"
CENTOS7 = "cyclonedx/trivy_centos-7_image.cdx1.5.json"


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture absent: {path}")
    return path.read_bytes()


def sync(run: Callable[..., Any], slug: str, name: str) -> None:
    fixture(name)
    sources_ensure()
    result = run(feed_sync, FeedSource.objects.get(slug=slug), path=FIXTURES / name)
    assert result.status == "ok", result.errors


def ingest(run: Callable[..., Any], host: Host, data: bytes) -> None:
    document = sbom_receive(
        organization=host.fleet.organization, data=data, size=len(data), host=host, dispatch=False
    )
    document = run(sbom_ingest, document_id=document.pk)
    assert document.status == "ingested", document


def recompute(fleet: Fleet) -> dict[str, Any]:
    out = io.StringIO()
    call_command("recompute_exposures", "--org", fleet.organization.slug, "--json", stdout=out)
    summary: dict[str, Any] = json.loads(out.getvalue())
    return summary


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_rhel9_python39_through_two_real_rhsas(run_commits: Any) -> None:
    """RHSA-2024:6163 and RHSA-2024:9371 (CVE-2024-8088) fix the python3.9 package on RHEL 9.

    No real SBOM in the fixtures has a package named python3.9 (the trimmed CSAF documents list
    only the source rpm; the real UBI 9 SBOM has its binaries, see the xfail test below), so
    the host's SBOMs are built with `cyclonedx(...)`: python3.9 at 3.9.18-3.el9_4.3 (the el9_4
    stream, just below 6163's 3.9.18-3.el9_4.5), then 6163's fixed version (still below
    9371's 3.9.19-8.el9), then 9371's. The purls carry distro=rhel-9.4, as Red Hat's own syft
    SBOM of UBI 9 writes it; it takes the rhel-9 rows of both documents.
    """
    # Red Hat's release SBOMs (UBI 9 micro) carry no distro qualifier: the fleet says rhel-9
    # so that the fleet fallback maps their rpms (checked below with the real micro SBOM).
    fleet = FleetFactory.create(distribution="rhel-9", sla_profile="balanced")
    host = HostFactory.create(fleet=fleet, hostname="rhel9-app")
    micro = HostFactory.create(fleet=fleet, hostname="ubi9-micro")
    ingest(run_commits, micro, fixture(UBI9_MICRO))
    assert Package.objects.filter(namespace="redhat", name="bash", distro="").exists()
    sync(run_commits, "redhat-csaf", RHSA_6163)
    sync(run_commits, "redhat-csaf", RHSA_9371)

    def snap(when: datetime, python: str) -> None:
        packages = {"python3.9": python, "bash": "5.1.8-9.el9"}
        ingest(run_commits, host, cyclonedx(when, packages, distro="rhel-9.4"))

    snap(day(8, 1, 2024), "3.9.18-3.el9_4.3")
    snap(day(9, 20, 2024), "3.9.18-3.el9_4.5")
    assert [e.advisory.external_id for e in exposures(host)] == ["RHSA-2024:6163", "RHSA-2024:9371"]
    first, second = exposures(host)
    assert (first.closed_reason, first.fixed_at) == ("upgraded", day(9, 20, 2024))
    assert (second.closed_reason, second.fixed_at) == ("", None)  # el9_4.5 < 3.9.19-8.el9
    snap(day(12, 1, 2024), "3.9.19-8.el9")

    first, second = exposures(host)
    fix_6163 = at("2024-09-03T17:57:24+00:00")  # the CSAF vendor_fix remediation date
    fix_9371 = at("2024-11-12T09:38:54+00:00")
    assert first.advisory.source == second.advisory.source == "redhat-csaf"
    assert first.package_name == second.package_name == "python3.9"
    assert first.advisory.affected.filter(name="python3.9").first().fixed_version == (  # type: ignore[union-attr]
        "3.9.18-3.el9_4.5"
    )
    assert second.advisory.affected.filter(name="python3.9").first().fixed_version == (  # type: ignore[union-attr]
        "3.9.19-8.el9"
    )
    assert (first.published_at, first.fix_available_at) == (fix_6163, fix_6163)
    assert (second.published_at, second.fix_available_at) == (fix_9371, fix_9371)
    # Both windows open with the first snapshot; no snapshot showed the vulnerable version
    # after either advisory was published, so neither was detected before it was fixed.
    assert first.window_start == second.window_start == day(8, 1, 2024)
    assert first.detected_at is None and second.detected_at is None
    assert (first.closed_reason, first.fixed_at) == ("upgraded", day(9, 20, 2024))
    assert (second.closed_reason, second.fixed_at) == ("upgraded", day(12, 1, 2024))
    # Medium, CVSS 5.3: P3, 90 days from the fix (later than the host was first seen).
    assert (first.tier, first.due_at) == ("P3", fix_6163 + timedelta(days=90))
    assert (second.tier, second.due_at) == ("P3", fix_9371 + timedelta(days=90))
    assert first.status_at(NOW) == second.status_at(NOW) == "fixed_in_sla"
    assert exposures(micro) == []  # none of its 20 rpms is in either document
    assert recompute(fleet)["unmapped_distributions"] == []
    assert_recompute_changes_nothing(fleet)


def test_rhel9_real_ubi9_sbom_binaries_of_a_fixed_source_rpm(run_commits: Any) -> None:
    """Red Hat's syft SBOM of UBI 9 (2024-06-25, distro=rhel-9.4) lists python3 and
    python3-libs 3.9.18-3.el9, built from python3.9-3.9.18-3.el9.src.rpm: both below the fixes
    of RHSA-2024:6163 and RHSA-2024:9371, whose (trimmed) documents name the source rpm."""
    fleet = FleetFactory.create(distribution="rhel-9", sla_profile="balanced")
    host = HostFactory.create(fleet=fleet, hostname="ubi9")
    ingest(run_commits, host, fixture(UBI9_SYFT))
    sync(run_commits, "redhat-csaf", RHSA_6163)
    sync(run_commits, "redhat-csaf", RHSA_9371)
    assert_recompute_changes_nothing(fleet)
    found = {(e.advisory.external_id, e.package_name) for e in exposures(host)}
    assert found == {
        ("RHSA-2024:6163", "python3"),
        ("RHSA-2024:6163", "python3-libs"),
        ("RHSA-2024:9371", "python3"),
        ("RHSA-2024:9371", "python3-libs"),
    }


def test_azure_linux_3_oval_one_package_below_one_at_the_fix(run_commits: Any) -> None:
    """The Azure Linux 3.0 OVAL: ceph < 18.2.1-1.azl3 (def 39076, critical) and freeglut
    < 3.4.0-1.azl3 (defs 39708 and 39694). The host (SBOM built with `cyclonedx(...)`: no
    Azure Linux SBOM is among the fixtures) has ceph 18.2.0-4.azl3 and freeglut at the fix."""
    fleet = FleetFactory.create(distribution="azurelinux-3", sla_profile="balanced")
    host = HostFactory.create(fleet=fleet, hostname="azl3")
    packages = {"ceph": "18.2.0-4.azl3", "freeglut": "3.4.0-1.azl3"}
    ingest(run_commits, host, cyclonedx(day(5, 1, 2024), packages, distro="azurelinux-3.0"))
    sync(run_commits, "azurelinux-oval", AZURE_OVAL)

    [exposure] = exposures(host)
    published = at("2024-04-17T22:02:46+00:00")
    assert exposure.advisory.external_id == "oval:com.microsoft.azurelinux:def:39076"
    assert exposure.package_name == "ceph"
    assert exposure.advisory.affected.get().fixed_version == "18.2.1-1.azl3"
    assert (exposure.published_at, exposure.fix_available_at) == (published, published)
    assert exposure.window_start == exposure.detected_at == day(5, 1, 2024)
    # Vendor critical: P2, 30 days from the host being first seen (later than the fix).
    assert (exposure.tier, exposure.due_at) == ("P2", day(5, 1, 2024) + timedelta(days=30))
    assert exposure.fixed_at is None and exposure.status_at(day(5, 10, 2024)) == "open"
    packages["ceph"] = "18.2.1-1.azl3"
    ingest(run_commits, host, cyclonedx(day(5, 20, 2024), packages, distro="azurelinux-3.0"))
    [exposure] = exposures(host)
    assert (exposure.closed_reason, exposure.fixed_at) == ("upgraded", day(5, 20, 2024))
    assert exposure.status_at(NOW) == "fixed_in_sla"
    assert recompute(fleet)["unmapped_distributions"] == []
    assert_recompute_changes_nothing(fleet)


def test_centos7_takes_no_fedora_azure_or_rhel9_advisory(run_commits: Any) -> None:
    """Trivy's CentOS 7 image SBOM (distro=centos-7.6.1810) and a second CentOS host built
    with `cyclonedx(...)` that has, by name and version, exactly what the Fedora 37, Azure
    Linux 3.0 and RHEL 9 documents fix: none of it is a CentOS 7 exposure."""
    fleet = FleetFactory.create(distribution="centos-7", sla_profile="balanced")
    image = HostFactory.create(fleet=fleet, hostname="centos7-image")
    ingest(run_commits, image, fixture(CENTOS7))
    assert set(Package.objects.filter(intervals__host=image).values_list("distro", "name")) >= {
        ("centos-7.6.1810", "bash"),
        ("centos-7.6.1810", "openssl-libs"),
    }
    decoy = HostFactory.create(fleet=fleet, hostname="centos7-decoy")
    packages = {"httpd": "2.4.54-1.fc37", "ceph": "18.2.0-4.azl3", "python3.9": "3.9.18-1.el9"}
    ingest(run_commits, decoy, cyclonedx(day(1, 2, 2023), packages, distro="centos-7.6.1810"))
    sync(run_commits, "bodhi", FEDORA_BODHI)
    sync(run_commits, "azurelinux-oval", AZURE_OVAL)
    sync(run_commits, "redhat-csaf", RHSA_6163)
    assert exposures(image) == [] and exposures(decoy) == []
    # centos-7.6.1810 maps (centos-7.6, centos-7, centos): nothing is reported unmapped.
    summary = recompute(fleet)
    assert (summary["exposures"], summary["unmapped_distributions"]) == (0, [])
    assert_recompute_changes_nothing(fleet)
