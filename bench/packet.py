"""Audit packet speed (issue 6): an organisation of 1,000 hosts with 12 months of evidence.

- `packet_1000_hosts`: the wall time of rendering the packet for the 12 months (target
  <= 20 s), split into gathering (control evaluation, figures, tables) and rendering
  (WeasyPrint, manifest, seal), in a fresh process;
- `packet_1000_hosts_peak_rss`: that process's peak RSS (target <= 600 MB).

The evidence: 4 fleets of 250 hosts; a weekly SBOM snapshot per host (52,000 documents);
about 40 exposure windows per host over the year (most fixed within their SLA, some late, a
few still open and overdue, 1% known-exploited) with their history; daily runs of 7 feeds;
a few risk exceptions. It is written with bulk inserts (the matching that would produce the
exposures is measured in bench/matching.py); the packet is built by the product's own code.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.ingest import ROOT, _peak_rss_kb

HOSTS = 1000
FLEETS = 4
WEEKS = 52
EXPOSURES_PER_HOST = 40
ADVISORIES = 2000
PERIOD = (date(2025, 11, 1), date(2026, 10, 31))
T0 = datetime(2025, 10, 25, tzinfo=UTC)
SOURCES = ("fedora-updateinfo", "bodhi", "azurelinux-oval", "redhat-csaf", "osv", "kev", "retired")


def _sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _setup(rng: random.Random) -> Any:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from bench.matching import _components, package_names
    from evidence.feeds import model as feed
    from evidence.feeds.store import advisories_store
    from evidence.ledger import packages_upsert
    from evidence.models import (
        Advisory,
        Exposure,
        ExposureVersion,
        FeedRun,
        FeedSource,
        Fleet,
        Host,
        RiskException,
        SbomDocument,
        SbomStatus,
    )
    from portal.accounts.models import Organization

    User = get_user_model()

    org = Organization.objects.create(slug="bench-packet", name="Packet Bench Ltd")
    fleets = [
        Fleet.objects.create(
            organization=org,
            slug=f"fleet-{n}",
            name=f"Fleet {n}",
            distribution="fedora-40",
            processes_personal_data=n % 2 == 0,
            created_at=T0 - timedelta(days=1),
        )
        for n in range(FLEETS)
    ]
    hosts = Host.objects.bulk_create(
        [
            Host(
                fleet=fleets[n % FLEETS],
                hostname=f"host-{n:04d}",
                first_seen_at=T0,
                created_at=T0 + timedelta(minutes=5),  # registered by its first SBOM
            )
            for n in range(HOSTS)
        ]
    )
    docs = []
    for host in hosts:
        for week in range(WEEKS + 1):
            taken = T0 + timedelta(days=7 * week, hours=host.pk % 24)
            docs.append(
                SbomDocument(
                    organization=org,
                    fleet=host.fleet,
                    host=host,
                    status=SbomStatus.INGESTED,
                    snapshot_at=taken,
                    received_at=taken + timedelta(minutes=5),
                    sha256=_sha("doc", host.pk, week),
                    size=900_000,
                    format="cyclonedx",
                    component_count=1500,
                    ntia_completeness=0.86,
                )
            )
    SbomDocument.objects.bulk_create(docs, batch_size=5000)
    del docs

    names = package_names(300)
    package_ids = packages_upsert(
        [c for which in range(3) for c in _components(names, [which] * len(names))]
    )
    purls = sorted(package_ids)
    records = []
    for n in range(ADVISORIES):
        published = T0 + timedelta(days=rng.randint(0, 360))
        records.append(
            feed.Advisory(
                source="fedora-updateinfo",
                external_id=f"FEDORA-PACKET-{n:05d}",
                title=f"Security update {n}",
                severity=rng.choice(("low", "moderate", "important", "critical")),
                published_at=published,
                modified_at=published,
                aliases=(f"CVE-2026-{20000 + n}",),
            )
        )
    with transaction.atomic():
        advisories_store("fedora-updateinfo", records, payload=None)
    advisories = list(
        Advisory.objects.filter(source="fedora-updateinfo").values_list("pk", flat=True)
    )

    exposures = []
    tiers = (("P2", 30), ("P3", 90), ("P4", 180), ("P1", 14))
    for host in hosts:
        for k in range(EXPOSURES_PER_HOST):
            fix = T0 + timedelta(days=rng.randint(0, 350), hours=rng.randint(0, 23))
            start = max(fix - timedelta(days=rng.randint(0, 30)), T0)
            tier, days = tiers[k % len(tiers)]
            due = max(fix, T0) + timedelta(days=days)  # hosts were first seen at T0
            roll = rng.random()
            late = 0.3 if roll < 0.9 else 1.4  # most in time, 10% late
            fixed = None if roll < 0.03 else fix + timedelta(days=days * late)
            kev = roll > 0.99
            exposures.append(
                Exposure(
                    organization=org,
                    fleet=host.fleet,
                    host=host,
                    advisory_id=advisories[(host.pk * 7 + k) % len(advisories)],
                    package_type="rpm",
                    package_distro="fedora-40",
                    package_name=f"{names[k % len(names)]}",
                    package_id=package_ids[purls[k]],
                    window_start=start,
                    published_at=fix - timedelta(days=2),
                    fix_available_at=fix,
                    kev_added_at=fix if kev else None,
                    kev_due_at=fix + timedelta(days=21) if kev else None,
                    detected_at=start,
                    fixed_at=fixed,
                    closed_reason="upgraded" if fixed else "",
                    tier=tier,
                    due_at=due,
                    sla_profile="balanced",
                    sla_digest="bench",
                    computed_at=start,
                )
            )
    Exposure.objects.bulk_create(exposures, batch_size=5000)
    from evidence.models.exposure_history import VERSIONED_FIELDS

    ExposureVersion.objects.bulk_create(
        [
            ExposureVersion(
                exposure_id=e.pk,
                recorded_from=e.window_start + timedelta(hours=1),
                **{name: getattr(e, name) for name in VERSIONED_FIELDS},
            )
            for e in exposures
        ],
        batch_size=5000,
    )
    del exposures

    from evidence.feeds.sync import sources_ensure

    sources_ensure()
    FeedSource.objects.update(enabled=True)
    runs = []
    for source in FeedSource.objects.filter(slug__in=SOURCES):
        for day in range(380):
            finished = T0 + timedelta(days=day, hours=6)
            runs.append(
                FeedRun(
                    source=source,
                    status="ok",
                    trigger="beat",
                    started_at=finished,
                    finished_at=finished,
                    fetched_at=finished,
                    location="https://feeds.example/",
                    sha256=_sha("feed", source.slug, day),
                    documents=1,
                    advisories_updated=3,
                )
            )
    FeedRun.objects.bulk_create(runs, batch_size=5000)
    officer = User.objects.create(username="bench-officer")
    approver = User.objects.create(username="bench-approver")
    RiskException.objects.bulk_create(
        [
            RiskException(
                organization=org,
                fleet=fleets[n % FLEETS],
                advisory_id=advisories[n],
                justification="Vendor fix breaks the application; WAF rule in place.",
                compensating_controls="WAF rule 9001",
                requested_by=officer,
                requested_at=T0 + timedelta(days=30 * n),
                approved_by=approver,
                approved_at=T0 + timedelta(days=30 * n + 1),
                expires_at=T0 + timedelta(days=30 * n + 80),
            )
            for n in range(12)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org


def child_packet(org_id: int) -> None:
    """Run in a fresh process by `run`: render the 12-month packet, print the figures."""
    import django

    django.setup()
    from evidence.models import AuditPacket
    from evidence.packets import build, context
    from portal.accounts.models import Organization

    org = Organization.objects.get(pk=org_id)
    gathered: list[float] = []
    original = context.packet_gather

    def timed_gather(**kwargs: Any) -> Any:
        begin = time.perf_counter()
        data = original(**kwargs)
        gathered.append(time.perf_counter() - begin)
        return data

    build.packet_gather = timed_gather  # measure, not change
    packet = build.packet_request(
        organization=org, period_start=PERIOD[0], period_end=PERIOD[1], dispatch=False
    )
    begin = time.perf_counter()
    packet = build.packet_render(packet_id=packet.pk)
    total = time.perf_counter() - begin
    if packet.status != "done":
        raise RuntimeError(f"bench packet failed: {packet.error}")
    pages = AuditPacket.objects.get(pk=packet.pk).size
    print(
        f"total_s={total:.3f} gather_s={gathered[0]:.3f} size={pages} peak_rss_kb={_peak_rss_kb()}"
    )


def run() -> list[dict[str, Any]]:
    rng = random.Random("packet")
    org = _setup(rng)
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.packet import child_packet; "
        f"child_packet({org.pk})"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    figures = dict(part.split("=") for part in done.stdout.split()[-4:])
    total, gather = float(figures["total_s"]), float(figures["gather_s"])
    size_mb = int(figures["size"]) / 1e6
    return [
        {
            "name": "packet_1000_hosts",
            "value": round(total, 2),
            "unit": "s",
            "target": "<= 20 s",
            "note": (
                f"12-month packet, 1,000 hosts, 52,000 SBOMs, 40,000 exposures: gathering "
                f"{gather:.2f} s, rendering/sealing {total - gather:.2f} s; PDF {size_mb:.1f} MB"
            ),
        },
        {
            "name": "packet_1000_hosts_peak_rss",
            "value": round(int(figures["peak_rss_kb"]) / 1024, 1),
            "unit": "MB",
            "target": "<= 600 MB",
            "note": "peak RSS of a fresh process (Django loaded) rendering that packet",
        },
    ]
