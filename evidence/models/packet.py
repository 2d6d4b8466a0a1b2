"""Audit packets: a PDF of the evidence for one scope and period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from evidence.models.fleet import Fleet
from portal.accounts.models import Organization


class PacketStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


def _packet_path(instance: AuditPacket, filename: str) -> str:
    return f"packets/{instance.organization_id}/{filename}"


class AuditPacket(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="packets")
    fleet = models.ForeignKey(
        Fleet, on_delete=models.CASCADE, null=True, blank=True, related_name="packets"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(
        max_length=16, choices=PacketStatus.choices, default=PacketStatus.QUEUED, db_index=True
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    # The Celery task id that claimed the row (queued → running). A redelivery of that same
    # message (its worker died: acks_late) may claim it again; any other delivery may not.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True)
    pdf = models.FileField(upload_to=_packet_path, blank=True, max_length=255)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the sealed PDF file.")
    size = models.PositiveBigIntegerField(default=0)
    # Progress while rendering (0-100) and what the worker is doing, for the packet page.
    progress = models.PositiveSmallIntegerField(default=0)
    progress_note = models.CharField(max_length=120, blank=True)
    # What the packet describes and proves (see evidence.packets.build and .signing).
    as_of = models.DateTimeField(null=True, blank=True)
    known_at = models.DateTimeField(null=True, blank=True)
    evaluation = models.ForeignKey(
        "evidence.ControlEvaluation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="packets",
    )
    manifest = models.JSONField(default=dict, blank=True)
    manifest_file = models.FileField(upload_to=_packet_path, blank=True, max_length=255)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    signed_sha256 = models.CharField(
        max_length=64, blank=True, help_text="Of the PDF bytes the signature covers."
    )
    signature = models.CharField(max_length=200, blank=True)
    key_id = models.CharField(max_length=16, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="packet_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PacketStatus]),
                name="packet_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Packet {self.pk} {self.period_start}..{self.period_end} ({self.status})"
