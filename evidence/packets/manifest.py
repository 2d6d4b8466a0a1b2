"""A packet's manifest: what it covers, which versions produced it, every figure it shows and
the sha256 of every evidence document it used.

The manifest is canonical JSON (sorted keys, no insignificant whitespace, UTF-8), embedded in
the PDF as the attachment `manifest.json`, stored beside it, and covered by the signature
(evidence.packets.signing). Its `figures` come from evidence known at the period's end only
(evidence.packets.context), so two builds of the same past period have equal `figures`; the
`packet` block (id, generated_at) and `integrity` (the audit chain head at build time) differ.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from evidence.packets.context import PacketData
from portal.accounts.models import AuditChainHead

FORMAT = "patchproof-packet-manifest"
VERSION = 1


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode()


def manifest_build(*, data: PacketData, generated_at: datetime, key_id: str) -> dict[str, Any]:
    packet = data.packet
    evaluated = data.evaluated
    head = AuditChainHead.objects.filter(id=1).first()
    return {
        "format": FORMAT,
        "version": VERSION,
        "packet": {
            "id": packet.pk,
            "organization": packet.organization.slug,
            "organization_name": packet.organization.name,
            "fleet": packet.fleet.slug if packet.fleet else None,
            "period_start": packet.period_start,
            "period_end": packet.period_end,
            "as_of": evaluated.as_of,
            "known_at": evaluated.known_at,
            "generated_at": generated_at,
        },
        "versions": {
            "catalog": {"version": data.catalog.version, "digest": data.catalog.digest},
            "sla_profiles": [
                {
                    "slug": p["profile"].slug,
                    "version": str(p["profile"].version),
                    "digest": p["digest"],
                }
                for p in data.profiles
            ],
            "portal": settings.PATCHPROOF_VERSION,
        },
        "figures": data.figures,
        "evidence": {
            "sbom_documents": [
                {"sha256": d["sha256"], "host": d["host"], "snapshot_at": d["snapshot_at"]}
                for d in data.documents
            ],
            "feed_runs": [
                {
                    "id": r["id"],
                    "source": r["source"],
                    "sha256": r["sha256"],
                    "fetched_at": r["fetched_at"],
                    "finished_at": r["finished_at"],
                }
                for r in data.feed_runs
            ],
        },
        "integrity": {
            "audit_chain_head": {"seq": head.seq, "hash": head.hash} if head else None,
            "signature": {"algorithm": "ed25519", "key_id": key_id},
        },
    }
