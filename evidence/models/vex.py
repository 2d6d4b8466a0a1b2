"""VEX documents an organisation uploaded, and the statements read from them.

A `not_affected` (or `fixed`) statement about a package and a vulnerability closes the matching
exposures of the organisation (or of one fleet) as `not_affected`, with the statement as the
evidence; `affected` and `under_investigation` leave them as they are.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from evidence.models.fleet import Fleet
from portal.accounts.models import Organization


def _vex_path(instance: VexUpload, filename: str) -> str:
    return f"vex/{instance.organization_id}/{instance.sha256[:2]}/{instance.sha256}.gz"


class VexUpload(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fleet = models.ForeignKey(
        Fleet, on_delete=models.CASCADE, null=True, blank=True, related_name="vex_uploads"
    )
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    raw = models.FileField(upload_to=_vex_path, blank=True, max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, default="accepted")  # accepted | rejected
    error = models.TextField(blank=True)
    format = models.CharField(max_length=16, blank=True)
    document_id = models.CharField(max_length=500, blank=True)
    author = models.CharField(max_length=500, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"VEX {self.filename or self.sha256[:12]} ({self.status})"


class VexStatement(models.Model):
    upload = models.ForeignKey(VexUpload, on_delete=models.CASCADE, related_name="statements")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fleet = models.ForeignKey(
        Fleet, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    vulnerability = models.CharField(max_length=255, db_index=True)
    aliases = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=24)
    justification = models.CharField(max_length=255, blank=True)
    impact_statement = models.TextField(blank=True)
    purl = models.TextField(blank=True)
    package_type = models.CharField(max_length=32, blank=True)
    package_name = models.CharField(max_length=255, blank=True, db_index=True)
    package_version = models.CharField(max_length=255, blank=True)
    stated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.vulnerability} {self.status} for {self.purl or self.package_name}"
