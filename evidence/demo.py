"""Demo data for `make run`: two organisations, fleets, hosts, SBOMs and the demo users.

Every step looks up before it creates, so running it again changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from evidence.ingest import UploadRefused, host_resolve, sbom_ingest, sbom_receive
from evidence.matching import exposures_recompute
from evidence.models import Exposure, Fleet, Host, SbomDocument, SbomStatus
from portal.accounts.models import AuditorGrant, Membership, Organization, Role

DEFAULT_PASSWORD = "patchproof-demo"  # noqa: S105 - documented demo password

# (name, version-release) per distribution; the later snapshot carries the upgrades.
_PACKAGES: dict[str, list[tuple[str, str, str]]] = {
    "azurelinux-4": [
        ("openssl", "3.2.2-3.azl4", "3.2.2-5.azl4"),
        ("glibc", "2.40-6.azl4", "2.40-6.azl4"),
        ("openssh", "9.8p1-2.azl4", "9.8p1-4.azl4"),
        ("curl", "8.9.1-1.azl4", "8.11.0-1.azl4"),
        ("bash", "5.2.32-1.azl4", "5.2.32-1.azl4"),
        ("systemd", "256.7-1.azl4", "256.7-1.azl4"),
        ("kernel", "6.6.57.1-1.azl4", "6.6.63.1-1.azl4"),
        ("python3", "3.12.7-1.azl4", "3.12.7-1.azl4"),
    ],
    "fedora-40": [
        ("openssl-libs", "3.2.2-3.fc40", "3.2.2-9.fc40"),
        ("glibc", "2.39-22.fc40", "2.39-22.fc40"),
        ("curl", "8.6.0-10.fc40", "8.6.0-11.fc40"),
        ("xz-libs", "5.4.6-3.fc40", "5.4.6-3.fc40"),
        ("deepin-terminal", "6.0.14-1.fc40", ""),  # retired upstream; removed later
        ("sudo", "1.9.15-2.p5.fc40", "1.9.15-5.p5.fc40"),
    ],
    "rhel-9": [
        ("openssl-libs", "1:3.0.7-27.el9", "1:3.0.7-29.el9_4"),
        ("glibc", "2.34-100.el9", "2.34-100.el9_4.4"),
    ],
}

_ORGS: list[dict[str, Any]] = [
    {
        "slug": "acme",
        "name": "Acme Analytics",
        "fleets": [
            {
                "slug": "web-prod",
                "name": "Web production",
                "distribution": "azurelinux-4",
                "processes_personal_data": True,
                "internet_exposed": True,
                "hosts": ["web-01.acme.example", "web-02.acme.example", "web-03.acme.example"],
            },
            {
                "slug": "batch",
                "name": "Batch workers",
                "distribution": "fedora-40",
                "processes_personal_data": True,
                "internet_exposed": False,
                "hosts": ["batch-01.acme.example", "batch-02.acme.example"],
            },
        ],
    },
    {
        "slug": "globex",
        "name": "Globex Logistics",
        "fleets": [
            {
                "slug": "edge",
                "name": "Edge gateways",
                "distribution": "rhel-9",
                "processes_personal_data": False,
                "internet_exposed": True,
                "hosts": ["edge-01.globex.example"],
            },
        ],
    },
]


def demo_sbom(*, hostname: str, distribution: str, taken_at: datetime, later: bool) -> bytes:
    """A CycloneDX 1.5 JSON SBOM of one host, as the project's agent would write it."""
    components = []
    vendor = distribution.split("-")[0]
    for name, early, late in _PACKAGES[distribution]:
        version = late if later else early
        if not version:
            continue
        epoch, _, evr = version.rpartition(":")
        qualifiers = f"arch=x86_64&distro={distribution}" + (f"&epoch={epoch}" if epoch else "")
        components.append(
            {
                "type": "library",
                "bom-ref": f"pkg:rpm/{vendor}/{name}@{evr}",
                "name": name,
                "version": evr,
                "purl": f"pkg:rpm/{vendor}/{name}@{evr}?{qualifiers}",
            }
        )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": taken_at.isoformat().replace("+00:00", "Z"),
            "tools": {"components": [{"type": "application", "name": "patchproof-agent"}]},
            "component": {"type": "operating-system", "name": hostname},
        },
        "components": components,
    }
    return json.dumps(doc, indent=2).encode()


def _user(email: str, password: str, **flags: Any) -> Any:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=email, defaults={"email": email, **flags}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _snapshot(host: Host, *, later: bool, taken_at: datetime) -> None:
    filename = f"{host.hostname}-{'current' if later else 'baseline'}.cdx.json"
    if SbomDocument.objects.filter(host=host, filename=filename).exists():
        return
    data = demo_sbom(
        hostname=host.hostname,
        distribution=host.fleet.distribution,
        taken_at=taken_at,
        later=later,
    )
    doc = sbom_receive(
        organization=host.fleet.organization,
        data=data,
        size=len(data),
        filename=filename,
        content_type="application/vnd.cyclonedx+json",
        host=host,
        dispatch=False,
    )
    if doc.status == SbomStatus.QUEUED:
        sbom_ingest(document_id=doc.pk)


# Demo advisories (ids say DEMO: they are not real advisories), dated relative to today so the
# timelines read like a real month: (source, id, days ago published, days ago fix available,
# severity, CVSS, CVE, [(distribution, package, fixed version)]).
_ADVISORIES: list[tuple[str, str, int, int, str, float, str, list[tuple[str, str, str]]]] = [
    ("azurelinux-oval", "DEMO-AZL-2026-0001", 45, 44, "high", 7.5, "CVE-2026-90001",
     [("azurelinux-4.0", "openssl", "3.2.2-5.azl4")]),
    ("azurelinux-oval", "DEMO-AZL-2026-0002", 20, 18, "critical", 9.8, "CVE-2026-90002",
     [("azurelinux-4.0", "openssh", "9.8p1-4.azl4")]),
    ("azurelinux-oval", "DEMO-AZL-2026-0003", 10, 9, "medium", 5.3, "CVE-2026-90003",
     [("azurelinux-4.0", "kernel", "6.6.65.1-1.azl4")]),
    ("fedora-updateinfo", "DEMO-FEDORA-2026-0004", 60, 58, "high", 8.1, "CVE-2026-90004",
     [("fedora-40", "openssl-libs", "3.2.2-10.fc40")]),
    ("fedora-updateinfo", "DEMO-FEDORA-2026-0005", 25, 25, "medium", 6.5, "CVE-2026-90005",
     [("fedora-40", "curl", "8.6.0-12.fc40")]),
    ("redhat-csaf", "DEMO-RHSA-2026:0006", 50, 50, "high", 7.8, "CVE-2026-90006",
     [("rhel-9", "glibc", "2.34-100.el9_4.4")]),
]  # fmt: skip


def _demo_advisories() -> None:
    """Store the demo advisories, the shipped Deepin retirement list and one KEV entry."""
    from pathlib import Path

    from evidence.feeds import model as feed
    from evidence.feeds.retired import parse as retired_parse
    from evidence.feeds.store import (
        advisories_store,
        kev_store,
        retired_advisories,
        retired_store,
    )

    now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    by_source: dict[str, list[feed.Advisory]] = {}
    for source, ident, published, fixed, severity, cvss, cve, rows in _ADVISORIES:
        by_source.setdefault(source, []).append(
            feed.Advisory(
                source=source,
                external_id=ident,
                title=f"{rows[0][1]}: demonstration security update",
                severity=severity,
                cvss_score=cvss,
                published_at=now - timedelta(days=published),
                modified_at=now - timedelta(days=published),
                aliases=(cve,),
                affected=[
                    feed.Affected(
                        package_type="rpm",
                        name=name,
                        distro=distro,
                        vers=f"vers:rpm/<{version}",
                        fixed_version=version,
                        fix_available_at=now - timedelta(days=fixed),
                    )
                    for distro, name, version in rows
                ],
            )
        )
    for source, records in by_source.items():
        advisories_store(source, records, payload=None)
    added = (now - timedelta(days=15)).date()
    kev_store(
        [
            feed.KevEntry(
                cve_id="CVE-2026-90002",
                vendor="OpenBSD",
                product="OpenSSH",
                name="OpenSSH demonstration flaw (DEMO)",
                date_added=added,
                due_date=added + timedelta(days=21),
                ransomware="Unknown",
            )
        ]
    )
    data = Path(__file__).resolve().parent / "feeds" / "data" / "fedora-deepin-retired.json"
    retired = retired_parse(data.read_bytes()).retired
    retired_store(retired)
    advisories_store("retired", retired_advisories(retired), payload=None)


def demo_seed(*, password: str | None = None) -> dict[str, int]:
    """Create (or leave as they are) the demo organisations, users, fleets, hosts and SBOMs."""
    password = password or os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
    today = timezone.now().date()
    baseline_at = datetime.combine(today - timedelta(days=30), time(6, 0), tzinfo=UTC)
    current_at = datetime.combine(today - timedelta(days=1), time(6, 0), tzinfo=UTC)
    with transaction.atomic():
        for spec in _ORGS:
            org, _ = Organization.objects.get_or_create(
                slug=spec["slug"], defaults={"name": spec["name"]}
            )
            for fleet_spec in spec["fleets"]:
                fields = {k: v for k, v in fleet_spec.items() if k not in {"slug", "hosts"}}
                fleet, _ = Fleet.objects.get_or_create(
                    organization=org, slug=fleet_spec["slug"], defaults=fields
                )
                for hostname in fleet_spec["hosts"]:
                    host = host_resolve(fleet=fleet, hostname=hostname)
                    _snapshot(host, later=False, taken_at=baseline_at)
                    _snapshot(host, later=True, taken_at=current_at)
        acme = Organization.objects.get(slug="acme")
        globex = Organization.objects.get(slug="globex")
        officer = _user("officer@acme.example", password)
        viewer = _user("viewer@acme.example", password)
        auditor = _user("auditor@audit.example", password)
        _user("admin@patchproof.example", password, is_staff=True, is_superuser=True)
        globex_officer = _user("officer@globex.example", password)
        for user, org, role in [
            (officer, acme, Role.OFFICER),
            (viewer, acme, Role.VIEWER),
            (globex_officer, globex, Role.OFFICER),
        ]:
            Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})
        if not AuditorGrant.objects.filter(auditor=auditor, organization=acme).exists():
            AuditorGrant.objects.create(
                auditor=auditor,
                organization=acme,
                expires_at=timezone.now() + timedelta(days=365),
                granted_by=officer,
            )
        web = Fleet.objects.get(organization=acme, slug="web-prod")
        if not SbomDocument.objects.filter(organization=acme, filename="truncated.json").exists():
            broken = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ['
            with contextlib.suppress(UploadRefused):
                # kept as a rejected upload, so the dashboard shows what a rejection says
                sbom_receive(
                    organization=acme,
                    data=broken,
                    size=len(broken),
                    filename="truncated.json",
                    fleet=web,
                    submitted_by=officer,
                    dispatch=False,
                )
    _demo_advisories()
    for org in Organization.objects.filter(slug__in=[spec["slug"] for spec in _ORGS]):
        exposures_recompute(organization_id=org.pk)
    return {
        "exposures": Exposure.objects.count(),
        "organizations": Organization.objects.count(),
        "fleets": Fleet.objects.count(),
        "hosts": Host.objects.count(),
        "sboms": SbomDocument.objects.count(),
    }
