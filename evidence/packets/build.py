"""Requesting and rendering audit packets."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from evidence.controls.evaluate import evaluation_store
from evidence.models import (
    AuditPacket,
    ControlEvaluation,
    EvaluationStatus,
    Fleet,
    PacketStatus,
)
from evidence.packets.context import PacketData, packet_gather, summary_context
from evidence.packets.fetcher import BASE_URL, StaticOnlyFetcher
from evidence.packets.manifest import canonical, manifest_build
from evidence.packets.signing import (
    MANIFEST_NAME,
    Seal,
    key_id,
    packet_seal,
    public_key_pem,
    signing_key,
)
from portal.accounts.audit import audit_record
from portal.accounts.models import Organization

log = logging.getLogger(__name__)


class PacketPeriodError(ValueError):
    pass


def packet_request(
    *,
    organization: Organization,
    period_start: date,
    period_end: date,
    fleet: Fleet | None = None,
    requested_by: Any = None,
    dispatch: bool = True,
) -> AuditPacket:
    """Record a packet request and queue its rendering on the `packets` queue after commit."""
    if period_end < period_start:
        raise PacketPeriodError(f"the period ends ({period_end}) before it starts ({period_start})")
    if period_start > timezone.now().date():
        raise PacketPeriodError(f"the period starts ({period_start}) in the future")
    if fleet is not None and fleet.organization_id != organization.pk:
        raise ValueError("fleet belongs to another organisation")
    with transaction.atomic():
        packet = AuditPacket.objects.create(
            organization=organization,
            fleet=fleet,
            period_start=period_start,
            period_end=period_end,
            requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        )
        audit_record(
            action="packet.requested",
            actor=requested_by,
            organization=organization,
            target=packet,
            data={"start": period_start, "end": period_end, "fleet": fleet and fleet.slug},
        )
        if dispatch:
            from evidence.tasks import render_packet

            transaction.on_commit(partial(render_packet.delay, packet.pk))
    return packet


def _progress(packet_id: int, percent: int, note: str) -> None:
    AuditPacket.objects.filter(pk=packet_id, status=PacketStatus.RUNNING).update(
        progress=percent, progress_note=note
    )


@dataclass
class Rendered:
    seal: Seal
    manifest: bytes
    manifest_doc: dict[str, Any]
    data: PacketData


def packet_build(*, packet: AuditPacket, now: datetime | None = None) -> Rendered:
    """Gather, render (WeasyPrint, static files only), embed the manifest and seal the packet.
    Reads only."""
    from weasyprint import HTML, Attachment

    generated_at = now or timezone.now()
    _progress(packet.pk, 10, "Evaluating controls and reading the evidence")
    data = packet_gather(packet=packet, now=generated_at)
    key = signing_key()
    kid = key_id(key.public_key())
    manifest_doc = manifest_build(data=data, generated_at=generated_at, key_id=kid)
    manifest = canonical(manifest_doc)
    _progress(packet.pk, 50, "Rendering the PDF")
    html = render_to_string(
        "packets/packet.html",
        {
            "data": data,
            "packet": packet,
            "organization": packet.organization,
            "generated_at": generated_at,
            "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "key_id": kid,
            "public_key_pem": public_key_pem(key.public_key()),
            "chart_table_open": True,
            "audit_head_text": _head_text(manifest_doc),
            "pdf_name": f"{packet_stem(packet)}.pdf",
            "retention_days": settings.EVIDENCE_RETENTION_DAYS,
            **summary_context(data),
        },
    )
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf(
        attachments=[
            Attachment(
                file_obj=io.BytesIO(manifest),
                name=MANIFEST_NAME,
                description="Patchproof packet manifest (figures and evidence digests)",
            )
        ]
    )
    if pdf is None:  # only when a target is given, which it is not
        raise RuntimeError("WeasyPrint returned no PDF")
    _progress(packet.pk, 90, "Signing")
    return Rendered(packet_seal(bytes(pdf), manifest), manifest, manifest_doc, data)


def packet_stem(packet: AuditPacket) -> str:
    return (
        f"patchproof-{packet.organization.slug}-{packet.period_start}-{packet.period_end}"
        f"-{packet.pk}"
    )


def _head_text(manifest: dict[str, Any]) -> str:
    head = manifest["integrity"]["audit_chain_head"]
    return f"event #{head['seq']}, sha256 {head['hash']}" if head else "empty"


def packet_pdf(*, packet: AuditPacket) -> bytes:
    """The sealed PDF of a packet (reads only)."""
    return packet_build(packet=packet).seal.data


def _claim(packet_id: int, task_id: str | None) -> bool:
    """queued → running, for this task. A packet left running by the same task id is the
    broker redelivering the message of a worker that died mid-render: claimed again (its
    render wrote nothing, the PDF is stored in one transaction at the end)."""
    claimable = Q(status=PacketStatus.QUEUED)
    if task_id:
        claimable |= Q(status=PacketStatus.RUNNING, claimed_by=task_id)
    return (
        AuditPacket.objects.filter(claimable, pk=packet_id).update(
            status=PacketStatus.RUNNING,
            status_changed_at=timezone.now(),
            claimed_by=task_id or "",
            progress=0,
        )
        == 1
    )


def packet_render(*, packet_id: int, task_id: str | None = None) -> AuditPacket:
    """Render a queued packet and store its PDF. Idempotent: a packet that is not queued is
    returned untouched; the PDF is written only if the row is still `running`."""
    if not _claim(packet_id, task_id):
        return AuditPacket.objects.get(pk=packet_id)
    packet = AuditPacket.objects.select_related("organization", "fleet").get(pk=packet_id)
    try:
        rendered = packet_build(packet=packet)
    except (OperationalError, InterfaceError):
        # Transient: give the row back to the queue so the task's retry can claim it again.
        AuditPacket.objects.filter(pk=packet.pk, status=PacketStatus.RUNNING).update(
            status=PacketStatus.QUEUED, status_changed_at=timezone.now(), progress=0
        )
        raise
    except Exception as exc:
        # Recorded on the row, then re-raised so the worker logs the traceback too.
        AuditPacket.objects.filter(pk=packet.pk, status=PacketStatus.RUNNING).update(
            status=PacketStatus.FAILED,
            error=f"rendering failed: {exc}",
            status_changed_at=timezone.now(),
        )
        raise
    seal = rendered.seal
    digest = hashlib.sha256(seal.data).hexdigest()
    stem = packet_stem(packet)
    with transaction.atomic():
        locked = AuditPacket.objects.select_for_update().get(pk=packet.pk)
        if locked.status != PacketStatus.RUNNING:
            return locked
        evaluation = ControlEvaluation.objects.create(
            organization=packet.organization,
            fleet=packet.fleet,
            period_start=packet.period_start,
            period_end=packet.period_end,
            requested_by=packet.requested_by,
            status=EvaluationStatus.RUNNING,
        )
        evaluation_store(evaluation=evaluation, evaluated=rendered.data.evaluated)
        locked.pdf.save(f"{stem}.pdf", ContentFile(seal.data), save=False)
        locked.manifest_file.save(
            f"{stem}.manifest.json", ContentFile(rendered.manifest), save=False
        )
        locked.sha256 = digest
        locked.size = len(seal.data)
        locked.manifest = json.loads(rendered.manifest)
        locked.manifest_sha256 = seal.manifest_sha256
        locked.signed_sha256 = seal.pdf_sha256
        locked.signature = seal.signature
        locked.key_id = seal.key_id
        locked.as_of = rendered.data.evaluated.as_of
        locked.known_at = rendered.data.evaluated.known_at
        locked.evaluation = evaluation
        locked.progress = 100
        locked.progress_note = "Ready"
        locked.status = PacketStatus.DONE
        locked.finished_at = locked.status_changed_at = timezone.now()
        locked.save()
        audit_record(
            action="packet.rendered",
            organization=packet.organization,
            target=locked,
            data={
                "sha256": digest,
                "size": len(seal.data),
                "manifest_sha256": seal.manifest_sha256,
                "key_id": seal.key_id,
            },
        )
    return locked
