"""The host package ledger: which package was installed on which host, from when until when."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from evidence.models.fleet import Host
from evidence.models.sbom import SbomDocument


class Package(models.Model):
    """One package identity: a canonical purl with its version and qualifiers.

    Shared by every host that has it, so a fleet of 1,000 hosts with the same 2,000 packages
    stores 2,000 rows here. `purl_hash` is the unique index key: a 64-bit integer from the MD5 of
    the purl (`evidence.ledger.purl_hash`), small and cheap to index whatever the purl's length.
    It is not trusted on its own: every look-up compares the purl, and a purl whose key is taken
    by another purl gets the next free key (see `evidence.ledger.packages_upsert`). Packages are
    never deleted (intervals PROTECT them), which keeps those probe chains whole. Descriptive
    fields (CPE, hashes, licences, supplier) come from the first SBOM that named the package.
    """

    purl = models.TextField()
    purl_hash = models.BigIntegerField(unique=True)
    type = models.CharField(max_length=32)
    namespace = models.CharField(max_length=255, blank=True)
    name = models.TextField()
    version = models.TextField(blank=True)
    epoch = models.CharField(max_length=16, blank=True)
    release = models.CharField(max_length=255, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    distro = models.CharField(max_length=64, blank=True)
    cpe = models.TextField(blank=True)
    supplier = models.TextField(blank=True)
    licenses = models.JSONField(default=list, blank=True)
    hashes = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["type", "distro", "name"], name="package_type_distro_name"),
            # Matching looks packages up by name alone (every distribution and version of it).
            models.Index(fields=["name"], name="package_name"),
        ]

    def __str__(self) -> str:
        return self.purl


class PackageInterval(models.Model):
    """Package P was on host H from `present_from` (the first snapshot showing it) until
    `present_until` (the first snapshot without it; NULL while it is still installed).

    Times are snapshot times of the host's SBOMs; `opened_by` / `closed_by` name those SBOMs.
    Indexes are kept to what the ledger and its readers use, because every new host writes one
    row per package: `host` has no index of its own (the host indexes start with it), and
    `present_until` and `closed_by` are indexed only where set (most intervals are open; the
    open ones are found through the one-open-interval-per-package constraint's index).
    """

    host = models.ForeignKey(
        Host, on_delete=models.CASCADE, related_name="package_intervals", db_index=False
    )
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="intervals")
    present_from = models.DateTimeField()
    present_until = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        SbomDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_by = models.ForeignKey(
        SbomDocument,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["present_from", "pk"]
        indexes = [
            # Open intervals are found through interval_one_open_per_package below.
            models.Index(
                fields=["host", "present_until"],
                condition=Q(present_until__isnull=False),
                name="interval_host_closed",
            ),
            models.Index(fields=["host", "present_from"], name="interval_host_from"),
            models.Index(
                fields=["closed_by"],
                condition=Q(closed_by__isnull=False),
                name="interval_closed_by",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(present_until__isnull=True) | Q(present_until__gt=F("present_from")),
                name="interval_ends_after_it_starts",
            ),
            models.UniqueConstraint(
                fields=["host", "package"],
                condition=Q(present_until__isnull=True),
                name="interval_one_open_per_package",
            ),
        ]

    def __str__(self) -> str:
        until = self.present_until.isoformat() if self.present_until else "now"
        return f"{self.package_id} on {self.host_id} {self.present_from.isoformat()}..{until}"
