"""Requesting and rendering audit packets."""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from evidence.models import AuditPacket, Fleet, PacketStatus, SbomStatus
from evidence.packets.fetcher import BASE_URL, StaticOnlyFetcher
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


def packet_context(*, packet: AuditPacket) -> dict[str, Any]:
    """Everything the packet template shows, read for the packet's scope and period."""
    fleets = Fleet.objects.filter(organization=packet.organization)
    if packet.fleet_id:
        fleets = fleets.filter(pk=packet.fleet_id)
    in_period = Q(
        sboms__received_at__date__gte=packet.period_start,
        sboms__received_at__date__lte=packet.period_end,
    )
    fleet_rows = fleets.annotate(
        host_count=Count("hosts", distinct=True),
        sbom_count=Count("sboms", filter=in_period, distinct=True),
        ingested_count=Count(
            "sboms", filter=in_period & Q(sboms__status=SbomStatus.INGESTED), distinct=True
        ),
        rejected_count=Count(
            "sboms", filter=in_period & Q(sboms__status=SbomStatus.REJECTED), distinct=True
        ),
    ).order_by("name")
    return {
        "packet": packet,
        "organization": packet.organization,
        "fleets": list(fleet_rows),
        "generated_at": timezone.now(),
    }


def packet_pdf(*, packet: AuditPacket) -> bytes:
    """Render the packet's PDF (WeasyPrint). Pure with respect to the database: reads only."""
    from weasyprint import HTML

    html = render_to_string("packets/packet.html", packet_context(packet=packet))
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf()
    if pdf is None:  # only when a target is given, which it is not
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)


def _claim(packet_id: int) -> bool:
    return (
        AuditPacket.objects.filter(pk=packet_id, status=PacketStatus.QUEUED).update(
            status=PacketStatus.RUNNING, status_changed_at=timezone.now()
        )
        == 1
    )


def packet_render(*, packet_id: int) -> AuditPacket:
    """Render a queued packet and store its PDF. Idempotent: a packet that is not queued is
    returned untouched; the PDF is written only if the row is still `running`."""
    if not _claim(packet_id):
        return AuditPacket.objects.get(pk=packet_id)
    packet = AuditPacket.objects.select_related("organization", "fleet").get(pk=packet_id)
    try:
        pdf = packet_pdf(packet=packet)
    except (OperationalError, InterfaceError):
        # Transient: give the row back to the queue so the task's retry can claim it again.
        AuditPacket.objects.filter(pk=packet.pk, status=PacketStatus.RUNNING).update(
            status=PacketStatus.QUEUED, status_changed_at=timezone.now()
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
    digest = hashlib.sha256(pdf).hexdigest()
    name = (
        f"patchproof-{packet.organization.slug}-{packet.period_start}-{packet.period_end}"
        f"-{packet.pk}.pdf"
    )
    with transaction.atomic():
        locked = AuditPacket.objects.select_for_update().get(pk=packet.pk)
        if locked.status != PacketStatus.RUNNING:
            return locked
        locked.pdf.save(name, ContentFile(pdf), save=False)
        locked.sha256 = digest
        locked.size = len(pdf)
        locked.status = PacketStatus.DONE
        locked.finished_at = locked.status_changed_at = timezone.now()
        locked.save()
        audit_record(
            action="packet.rendered",
            organization=packet.organization,
            target=locked,
            data={"sha256": digest, "size": len(pdf)},
        )
    return locked
