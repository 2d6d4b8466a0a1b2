"""Patchproof benchmarks: prints one table of figures (median of several runs)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("PATCHPROOF_VAR_DIR", tempfile.mkdtemp(prefix="patchproof-bench-"))


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `fn` in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def generated_sbom(components: int) -> bytes:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"timestamp": "2026-11-01T00:00:00Z"},
        "components": [
            {
                "type": "library",
                "name": f"pkg{i}",
                "version": f"1.{i}-1.azl4",
                "purl": f"pkg:rpm/azurelinux/pkg{i}@1.{i}-1.azl4?arch=x86_64&distro=azurelinux-4",
            }
            for i in range(components)
        ],
    }
    return json.dumps(doc).encode()


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from evidence.ingest import sbom_ingest, sbom_receive
    from evidence.models import AuditPacket, Fleet
    from evidence.packets.build import packet_pdf
    from evidence.sbom import sbom_parse
    from portal.accounts.models import Organization

    rows: list[tuple[str, str]] = []
    big = generated_sbom(5000)
    seconds = timed(lambda: sbom_parse(big))
    rows.append(("parse 5,000-component CycloneDX", f"{seconds * 1000:.1f} ms"))

    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    fleet, _ = Fleet.objects.get_or_create(
        organization=org, slug="bench", defaults={"name": "Bench", "distribution": "fedora-40"}
    )
    counter = iter(range(10**9))

    def receive_and_ingest() -> None:
        data = generated_sbom(200) + b" " * next(counter)  # a new sha256 each time
        doc = sbom_receive(organization=org, data=data, size=len(data), fleet=fleet, dispatch=False)
        sbom_ingest(document_id=doc.pk)

    seconds = timed(receive_and_ingest, repeat=20)
    rows.append(("receive + ingest, 200 components", f"{seconds * 1000:.1f} ms/SBOM"))

    for i in range(2):
        Fleet.objects.get_or_create(
            organization=org, slug=f"f{i}", defaults={"name": f"F{i}", "distribution": "rhel-9"}
        )
    packet = AuditPacket(organization=org, period_start="2026-01-01", period_end="2026-12-31")
    packet.save()
    seconds = timed(lambda: packet_pdf(packet=packet), repeat=3)
    rows.append(("render packet PDF (3 fleets)", f"{seconds * 1000:.0f} ms"))

    width = max(len(name) for name, _ in rows)
    print(f"{'figure'.ljust(width)}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
