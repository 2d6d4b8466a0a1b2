"""Raw SBOM documents as received, with their processing status."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from evidence.models.fleet import Fleet, Host
from portal.accounts.models import ApiToken, Organization


class SbomStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    INGESTED = "ingested", "Ingested"
    REJECTED = "rejected", "Rejected"
    DUPLICATE = "duplicate", "Duplicate"


def _raw_path(instance: SbomDocument, filename: str) -> str:
    return f"sboms/{instance.organization_id}/{instance.sha256[:2]}/{instance.sha256}.gz"


class SbomDocument(models.Model):
    """One uploaded SBOM: the raw bytes (stored gzip-compressed) and what became of them.

    The raw document is kept as evidence even when it is rejected, unless it was refused
    before being read (empty or over the size limit).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sboms")
    fleet = models.ForeignKey(
        Fleet, on_delete=models.CASCADE, null=True, blank=True, related_name="sboms"
    )
    host = models.ForeignKey(
        Host, on_delete=models.CASCADE, null=True, blank=True, related_name="sboms"
    )
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    raw = models.FileField(upload_to=_raw_path, blank=True, max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=16, choices=SbomStatus.choices, default=SbomStatus.QUEUED, db_index=True
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    # The Celery task id that claimed the row (queued → running). A redelivery of that same
    # message (its worker died: acks_late) may claim it again; any other delivery may not.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    format = models.CharField(max_length=32, blank=True)
    encoding = models.CharField(max_length=16, blank=True)
    spec_version = models.CharField(max_length=16, blank=True)
    component_count = models.PositiveIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    schema_valid = models.BooleanField(
        null=True, blank=True, help_text="False: read despite schema violations (see warnings)."
    )
    ntia = models.JSONField(
        default=dict, blank=True, help_text="Coverage (0 to 1) of each NTIA minimum element."
    )
    ntia_completeness = models.FloatField(null=True, blank=True)
    document_created_at = models.DateTimeField(
        null=True, blank=True, help_text="The document's own creation time, if plausible."
    )
    snapshot_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The time the ledger uses: creation time, else receipt (unique per host).",
    )
    packages_added = models.PositiveIntegerField(null=True, blank=True)
    packages_removed = models.PositiveIntegerField(null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ingested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-received_at"]),
            models.Index(fields=["organization", "sha256"]),
            models.Index(fields=["host", "status", "snapshot_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in SbomStatus]), name="sbom_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"SBOM {self.pk} ({self.status})"

    @property
    def taken_at(self) -> datetime:
        """When the inventory was taken: the snapshot time once ingested, else receipt."""
        return self.snapshot_at or self.document_created_at or self.received_at

    @property
    def submitter_label(self) -> str:
        if self.submitted_token_id and self.submitted_token:
            return f"token {self.submitted_token.name}"
        if self.submitted_by_id and self.submitted_by:
            return self.submitted_by.get_username()
        return "system"
