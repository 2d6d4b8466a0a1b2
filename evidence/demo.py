"""Demo data for `make run`: two organisations, fleets, hosts, SBOMs and the demo users.

Every step looks up before it creates, so running it again changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from evidence.ingest import UploadRefused, host_resolve, sbom_ingest, sbom_receive
from evidence.matching import exposures_recompute
from evidence.models import Exposure, Fleet, Host, SbomDocument, SbomStatus
from portal.accounts.models import AuditorGrant, Membership, Organization, Role

DEFAULT_PASSWORD = "patchproof-demo"  # noqa: S105 - documented demo password

# (name, early version-release, late version-release, days ago the hosts upgrade) per
# distribution. Each host upgrades a few days after the one before it (see `_upgraded`); a late
# version "" means the package is removed then; a day of None means the host never upgrades.
_PACKAGES: dict[str, list[tuple[str, str, str, int | None]]] = {
    "azurelinux-4": [
        ("azurelinux-release", "4.0-1.azl4", "4.0-1.azl4", None),
        ("openssl", "3.2.2-3.azl4", "3.2.2-5.azl4", 104),
        ("glibc", "2.40-6.azl4", "2.40-6.azl4", None),
        ("openssh", "9.8p1-2.azl4", "9.8p1-4.azl4", 86),
        ("curl", "8.9.1-1.azl4", "8.11.0-1.azl4", 60),
        ("bash", "5.2.32-1.azl4", "5.2.32-1.azl4", None),
        ("systemd", "256.7-1.azl4", "256.7-1.azl4", None),
        ("kernel", "6.6.57.1-1.azl4", "6.6.65.1-1.azl4", None),  # the fix is still pending
        ("python3", "3.12.7-1.azl4", "3.12.7-1.azl4", None),
    ],
    "fedora-40": [
        ("fedora-release-common", "40-40", "40-40", None),  # Fedora 40: end of life
        ("openssl-libs", "3.2.2-3.fc40", "3.2.2-10.fc40", 112),
        ("glibc", "2.39-22.fc40", "2.39-22.fc40", None),
        ("curl", "8.6.0-10.fc40", "8.6.0-12.fc40", 24),
        ("xz-libs", "5.4.6-3.fc40", "5.4.6-3.fc40", None),
        ("deepin-terminal", "6.0.14-1.fc40", "", 90),  # retired upstream; removed late
        ("sudo", "1.9.15-2.p5.fc40", "1.9.15-5.p5.fc40", 70),
    ],
    "rhel-9": [
        ("redhat-release", "9.4-0.5.el9", "9.4-0.5.el9", None),
        ("openssl-libs", "1:3.0.7-27.el9", "1:3.0.7-29.el9_4", 75),
        ("glibc", "2.34-100.el9", "2.34-100.el9_4.4", 48),
    ],
}
HISTORY_DAYS = 190  # weekly evidence this far back: the last full quarter, whatever the date
HOLDOUTS = {("batch-02.acme.example", "openssl-libs")}  # never upgraded: overdue


def _upgraded(hostname: str, index: int, package: str, day: int | None, days_ago: int) -> bool:
    """Whether host number `index` of its fleet runs the late version `days_ago` days ago."""
    if day is None or (hostname, package) in HOLDOUTS:
        return False
    return days_ago <= day - 4 * index


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


def demo_sbom(
    *,
    hostname: str,
    distribution: str,
    taken_at: datetime,
    later: bool | None = None,
    index: int = 0,
) -> bytes:
    """A CycloneDX 1.5 JSON SBOM of one host as the project's agent would write it, on the day
    `taken_at` (the packages `_upgraded` by then; `later` forces every late version)."""
    components = []
    vendor = distribution.split("-")[0]
    days_ago = (timezone.now() - taken_at).days
    for name, early, late, day in _PACKAGES[distribution]:
        upgraded = later if later is not None else _upgraded(hostname, index, name, day, days_ago)
        version = late if upgraded else early
        if not version:
            continue
        epoch, _, evr = version.rpartition(":")
        qualifiers = f"arch=x86_64&distro={distribution}" + (f"&epoch={epoch}" if epoch else "")
        components.append(
            {
                "type": "library",
                "bom-ref": f"pkg:rpm/{vendor}/{name}@{evr}",
                "supplier": {"name": _SUPPLIERS.get(vendor, vendor)},
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
            "authors": [{"name": "patchproof-agent"}],
            "tools": {"components": [{"type": "application", "name": "patchproof-agent"}]},
            "component": {"type": "operating-system", "name": hostname, "bom-ref": hostname},
        },
        "components": components,
        "dependencies": [{"ref": hostname, "dependsOn": [c["bom-ref"] for c in components]}],
    }
    return json.dumps(doc, indent=2).encode()


_SUPPLIERS = {"azurelinux": "Microsoft", "fedora": "Fedora Project", "rhel": "Red Hat"}


def _user(email: str, password: str, **flags: Any) -> Any:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=email, defaults={"email": email, **flags}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _snapshot(host: Host, *, index: int, taken_at: datetime) -> None:
    filename = f"{host.hostname}-{taken_at:%Y%m%d}.cdx.json"
    if SbomDocument.objects.filter(host=host, filename=filename).exists():
        return
    data = demo_sbom(
        hostname=host.hostname,
        distribution=host.fleet.distribution,
        taken_at=taken_at,
        index=index,
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
    ("azurelinux-oval", "DEMO-AZL-2026-0001", 120, 118, "high", 7.5, "CVE-2026-90001",
     [("azurelinux-4.0", "openssl", "3.2.2-5.azl4")]),
    ("azurelinux-oval", "DEMO-AZL-2026-0002", 92, 90, "critical", 9.8, "CVE-2026-90002",
     [("azurelinux-4.0", "openssh", "9.8p1-4.azl4")]),
    ("azurelinux-oval", "DEMO-AZL-2026-0003", 30, 29, "medium", 5.3, "CVE-2026-90003",
     [("azurelinux-4.0", "kernel", "6.6.65.1-1.azl4")]),
    ("azurelinux-oval", "DEMO-AZL-2026-0007", 66, 64, "medium", 6.1, "CVE-2026-90007",
     [("azurelinux-4.0", "curl", "8.11.0-1.azl4")]),
    ("fedora-updateinfo", "DEMO-FEDORA-2026-0004", 130, 128, "high", 8.1, "CVE-2026-90004",
     [("fedora-40", "openssl-libs", "3.2.2-10.fc40")]),
    ("fedora-updateinfo", "DEMO-FEDORA-2026-0005", 60, 60, "medium", 6.5, "CVE-2026-90005",
     [("fedora-40", "curl", "8.6.0-12.fc40")]),
    ("fedora-updateinfo", "DEMO-FEDORA-2026-0008", 80, 79, "high", 7.8, "CVE-2026-90008",
     [("fedora-40", "sudo", "1.9.15-5.p5.fc40")]),
    ("redhat-csaf", "DEMO-RHSA-2026:0006", 70, 70, "high", 7.8, "CVE-2026-90006",
     [("rhel-9", "glibc", "2.34-100.el9_4.4")]),
    ("redhat-csaf", "DEMO-RHSA-2026:0009", 95, 94, "important", 7.4, "CVE-2026-90009",
     [("rhel-9", "openssl-libs", "1:3.0.7-29.el9_4")]),
]  # fmt: skip
KEV_DAYS_AGO = 88  # CVE-2026-90002 (openssh) entered CISA KEV then, due 21 days later


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
    added = (now - timedelta(days=KEV_DAYS_AGO)).date()
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
    folder = Path(__file__).resolve().parent / "feeds" / "data"
    for path in sorted(folder.rglob("*.json")):
        retired = retired_parse(path.read_bytes(), name=path.name).retired
        retired_store(retired)
        advisories_store("retired", retired_advisories(retired), payload=None)


def demo_seed(*, password: str | None = None) -> dict[str, int]:
    """Create (or leave as they are) the demo organisations, users, fleets, hosts, SBOMs and
    advisories, with a weekly history of snapshots going back HISTORY_DAYS days."""
    password = password or os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
    today = timezone.now().date()
    _demo_advisories()
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
                for index, hostname in enumerate(fleet_spec["hosts"]):
                    host = host_resolve(fleet=fleet, hostname=hostname)
                    for days_ago in [*range(HISTORY_DAYS, 0, -7), 1]:  # weekly, and yesterday
                        taken_at = datetime.combine(
                            today - timedelta(days=days_ago), time(6, index * 7), tzinfo=UTC
                        )
                        _snapshot(host, index=index, taken_at=taken_at)
        acme = Organization.objects.get(slug="acme")
        globex = Organization.objects.get(slug="globex")
        officer = _user("officer@acme.example", password)
        viewer = _user("viewer@acme.example", password)
        lead = _user("lead@acme.example", password)
        auditor = _user("auditor@audit.example", password)
        _user("admin@patchproof.example", password, is_staff=True, is_superuser=True)
        globex_officer = _user("officer@globex.example", password)
        for user, org, role in [
            (officer, acme, Role.OFFICER),
            (viewer, acme, Role.VIEWER),
            (lead, acme, Role.OWNER),
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
    orgs = Organization.objects.filter(slug__in=[spec["slug"] for spec in _ORGS])
    for org in orgs:
        exposures_recompute(organization_id=org.pk)
    demo_history_date(list(orgs))
    _demo_exception(Organization.objects.get(slug="acme"))
    for org in orgs:
        _demo_monthly_evaluations(org)
    return {
        "exposures": Exposure.objects.count(),
        "organizations": Organization.objects.count(),
        "fleets": Fleet.objects.count(),
        "hosts": Host.objects.count(),
        "sboms": SbomDocument.objects.count(),
    }


_DEMO_SOURCES = ("azurelinux-oval", "fedora-updateinfo", "redhat-csaf", "kev", "retired")


def demo_history_date(orgs: list[Organization]) -> None:
    """Date the demo's evidence as if it had arrived over the past HISTORY_DAYS days.

    A real portal collects evidence as it happens: each snapshot is received minutes after it
    is taken, each advisory is fetched when published, exposures are recorded when the evidence
    that shows them arrives, and the feeds sync daily. The demo is seeded in one go, so this
    sets those times accordingly (only for the demo organisations and DEMO records), so that a
    packet for the last quarter describes what was known then (evidence.packets)."""
    from evidence.feeds.sync import sources_ensure
    from evidence.models import Advisory, ExposureVersion, FeedRun, FeedSource
    from evidence.models.exposure_history import VERSIONED_FIELDS

    now = timezone.now()
    with transaction.atomic():
        for host in Host.objects.filter(fleet__organization__in=orgs):
            first = (
                SbomDocument.objects.filter(host=host, snapshot_at__isnull=False)
                .order_by("snapshot_at")
                .values_list("snapshot_at", flat=True)
                .first()
            )
            if first is not None:  # registered when its first SBOM arrived
                Host.objects.filter(pk=host.pk).update(created_at=first + timedelta(minutes=4))
        for fleet in Fleet.objects.filter(organization__in=orgs):
            hosts = Host.objects.filter(fleet=fleet).order_by("created_at")
            if hosts.exists():
                Fleet.objects.filter(pk=fleet.pk).update(
                    created_at=hosts[0].created_at - timedelta(days=1)
                )
        for doc in SbomDocument.objects.filter(organization__in=orgs, snapshot_at__isnull=False):
            received = min((doc.snapshot_at or now) + timedelta(minutes=4), now)
            if doc.received_at != received:
                SbomDocument.objects.filter(pk=doc.pk).update(received_at=received)
        Advisory.objects.filter(
            Q(external_id__startswith="DEMO-") | Q(source="retired"), published_at__isnull=False
        ).update(first_seen_at=F("published_at"))
        ExposureVersion.objects.filter(organization__in=orgs).delete()
        ExposureVersion.objects.bulk_create(
            ExposureVersion(
                exposure_id=e.pk,
                recorded_from=min(
                    max(e.window_start, e.published_at or e.window_start) + timedelta(hours=1),
                    now,
                ),
                **{name: getattr(e, name) for name in VERSIONED_FIELDS},
            )
            for e in Exposure.objects.filter(organization__in=orgs)
        )
        sources_ensure()
        if not FeedRun.objects.filter(trigger="demo").exists():
            runs = []
            for source in FeedSource.objects.filter(slug__in=_DEMO_SOURCES):
                moments = [
                    datetime.combine(now.date() - timedelta(days=days_ago), time(5, 0), tzinfo=UTC)
                    for days_ago in range(HISTORY_DAYS + 10, 0, -1)
                ] + [now - timedelta(hours=1)]  # and one just before the seeding
                for at in moments:
                    runs.append(
                        FeedRun(
                            source=source,
                            status="ok",
                            trigger="demo",
                            started_at=at,
                            finished_at=at + timedelta(seconds=20),
                            fetched_at=at,
                            location="demo data (evidence/demo.py)",
                            sha256=hashlib.sha256(
                                f"{source.slug}/{at:%Y-%m-%d}".encode()
                            ).hexdigest(),
                            documents=1,
                        )
                    )
            FeedRun.objects.bulk_create(runs)
            last = max(run.finished_at for run in runs if run.finished_at)
            FeedSource.objects.filter(slug__in=_DEMO_SOURCES, last_success_at__isnull=True).update(
                last_success_at=last, last_attempt_at=last
            )


EXCEPTION_DAYS_AGO = 79  # the Fedora 40 batch workers' exception was approved then


def _demo_exception(acme: Organization) -> None:
    """A risk exception as officers record them: Fedora 40 (end of life) kept on the batch
    workers until their move to Azure Linux 4, requested by the officer and approved by Acme's
    owner, dated EXCEPTION_DAYS_AGO days back like the rest of the demo history."""
    from evidence.exceptions import exception_approve, exception_request
    from evidence.models import Advisory, RiskException

    advisory = Advisory.objects.filter(
        source="retired", external_id="eol/fedora-40/rpm/fedora-release-common"
    ).first()
    batch = Fleet.objects.get(organization=acme, slug="batch")
    if advisory is None or RiskException.objects.filter(fleet=batch, advisory=advisory).exists():
        return
    user_model = get_user_model()
    officer = user_model.objects.get(username="officer@acme.example")
    lead = user_model.objects.get(username="lead@acme.example")
    approved_at = timezone.now() - timedelta(days=EXCEPTION_DAYS_AGO)
    exception = exception_request(
        fleet=batch,
        exposure=None,
        advisory=advisory,
        requested_by=officer,
        justification=(
            "The batch workers move from Fedora 40 to Azure Linux 4 in the early-access "
            "programme; the migration is scheduled and tested."
        ),
        compensating_controls=(
            "No inbound network access; jobs run as unprivileged users; weekly SBOMs."
        ),
        expires_at=approved_at + timedelta(days=RiskException.MAX_DAYS),
    )
    exception_approve(exception=exception, approver=lead)
    RiskException.objects.filter(pk=exception.pk).update(
        requested_at=approved_at - timedelta(days=1), approved_at=approved_at
    )


def _demo_monthly_evaluations(org: Organization, months: int = 7) -> None:
    """The monthly control evaluations beat would have run (evidence.controls.periodic) for the
    last `months` complete months, each dated the 1st of the following month, 03:05 UTC."""
    from evidence.controls.evaluate import controls_evaluate, evaluation_store
    from evidence.controls.periodic import previous_month
    from evidence.models import ControlEvaluation, EvaluationStatus

    periods = []
    day = timezone.now().date()
    for _ in range(months):
        start, end = previous_month(day)
        periods.append((start, end))
        day = start
    for start, end in reversed(periods):  # oldest first: each sees the reports before it
        exists = ControlEvaluation.objects.filter(
            organization=org, fleet__isnull=True, period_start=start, period_end=end
        ).exists()
        if exists:
            continue
        evaluation = ControlEvaluation.objects.create(
            organization=org,
            period_start=start,
            period_end=end,
            status=EvaluationStatus.RUNNING,
        )
        evaluated = controls_evaluate(
            organization=org, fleet=None, period_start=start, period_end=end
        )
        evaluation_store(evaluation=evaluation, evaluated=evaluated)
        ran_at = datetime.combine(end + timedelta(days=1), time(3, 5), tzinfo=UTC)
        ControlEvaluation.objects.filter(pk=evaluation.pk).update(
            created_at=ran_at, finished_at=ran_at + timedelta(seconds=30)
        )
