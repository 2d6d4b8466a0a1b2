"""Figures of the walking skeleton (issue 2): receive cost and the packet PDF."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from bench.ingest import generated_sbom, median_time


def run() -> list[dict[str, Any]]:
    from evidence.ingest import sbom_receive
    from evidence.models import AuditPacket, Fleet
    from evidence.packets.build import packet_pdf
    from portal.accounts.models import Organization

    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    fleet, _ = Fleet.objects.get_or_create(
        organization=org, slug="bench", defaults={"name": "Bench", "distribution": "fedora-40"}
    )
    data = generated_sbom(10_000, seed=f"recv{time.time_ns()}")
    counter = iter(range(10**9))

    def receive() -> None:
        body = data + b" " * next(counter)  # a new sha256 each time: never a duplicate
        sbom_receive(organization=org, data=body, size=len(body), fleet=fleet, dispatch=False)

    received = median_time(receive, 5)
    packet = AuditPacket.objects.create(
        organization=org, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30)
    )
    rendered = median_time(lambda: packet_pdf(packet=packet), 3)
    return [
        {
            "name": "receive_10k_cyclonedx",
            "value": round(received * 1000, 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "target": None,
            "note": "upload side: sha256, format sniff, gzip and store the raw document",
        },
        {
            "name": "render_packet_pdf",
            "value": round(rendered * 1000, 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "target": None,
            "note": "a packet of a one-fleet organisation without hosts (evaluation, WeasyPrint, "
            "seal): the fixed cost of every packet",
        },
    ]
