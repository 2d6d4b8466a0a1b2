"""Exposure history: what each exposure looked like, and from when to when Patchproof held that.

Exposures are recomputed whenever evidence arrives (a snapshot, an advisory, a VEX statement,
a KEV entry), so the `Exposure` table only says what is known now. An audit packet for a past
period must show what was known at the period's end, and show it again identically when it is
rebuilt later, after new evidence arrived. So every write of `evidence.matching` also writes an
`ExposureVersion`: a copy of the exposure's timeline fields, valid (as knowledge) from
`recorded_from` until `recorded_until` (NULL: still current). A deleted exposure's last version
is closed and kept. The history is append-only: rows are inserted and closed, never changed
otherwise.

`versions_known_at(t)` is the state of knowledge at `t`: for each exposure, the version
recorded at or before `t` and not yet superseded at `t`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Q

from evidence.models.advisory import Advisory
from evidence.models.fleet import Fleet, Host
from evidence.models.ledger import Package
from portal.accounts.models import Organization

# The Exposure fields a version keeps (what timelines, controls and packets read).
VERSIONED_FIELDS = (
    "organization_id", "fleet_id", "host_id", "advisory_id", "package_type", "package_distro",
    "package_name", "package_id", "window_start", "published_at", "fix_available_at",
    "kev_added_at", "kev_due_at", "detected_at", "fixed_at", "closed_reason", "regression",
    "tier", "due_at", "sla_profile", "sla_digest",
)  # fmt: skip


class ExposureVersion(models.Model):
    exposure_id = models.BigIntegerField(help_text="The Exposure row (kept after its deletion).")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="+")
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="+")
    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="+")
    package_type = models.CharField(max_length=32)
    package_distro = models.CharField(max_length=64, blank=True)
    package_name = models.CharField(max_length=255)
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    window_start = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    fix_available_at = models.DateTimeField(null=True, blank=True)
    kev_added_at = models.DateTimeField(null=True, blank=True)
    kev_due_at = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=16, blank=True)
    regression = models.BooleanField(default=False)
    tier = models.CharField(max_length=16, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    sla_profile = models.CharField(max_length=64, blank=True)
    sla_digest = models.CharField(max_length=64, blank=True)
    recorded_from = models.DateTimeField()
    recorded_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["exposure_id", "recorded_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recorded_until__isnull=True)
                | Q(recorded_until__gte=models.F("recorded_from")),
                name="exposure_version_ordered",
            ),
            # At most one current version per exposure.
            models.UniqueConstraint(
                fields=["exposure_id"],
                condition=Q(recorded_until__isnull=True),
                name="exposure_version_one_current",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "recorded_from"], name="exposure_version_org"),
            models.Index(fields=["exposure_id", "recorded_until"], name="exposure_version_row"),
        ]

    def __str__(self) -> str:
        until = self.recorded_until.isoformat() if self.recorded_until else "now"
        return f"exposure {self.exposure_id} as recorded {self.recorded_from.isoformat()}..{until}"


def versions_known_at(at: datetime) -> Q:
    """The versions that were current at `at`: recorded at or before it, not superseded."""
    return Q(recorded_from__lte=at) & (Q(recorded_until__isnull=True) | Q(recorded_until__gt=at))


def versions_close(exposure_ids: Sequence[int], now: datetime) -> None:
    """Close the current versions of these exposures at `now` (they changed or went)."""
    ids = list(exposure_ids)
    for start in range(0, len(ids), 5000):
        ExposureVersion.objects.filter(
            exposure_id__in=ids[start : start + 5000], recorded_until__isnull=True
        ).update(recorded_until=now)


def versions_open(exposures: Iterable[Any], now: datetime) -> None:
    """Record the current state of these (saved) exposures as versions from `now`."""
    ExposureVersion.objects.bulk_create(
        [
            ExposureVersion(
                exposure_id=exposure.pk,
                recorded_from=now,
                **{name: getattr(exposure, name) for name in VERSIONED_FIELDS},
            )
            for exposure in exposures
        ],
        batch_size=2000,
    )
