"""Exposures: windows in which a host had a package version inside an advisory's affected range.

An exposure is derived data: `evidence.matching` computes it from the host's package ledger and
the stored advisories, and recomputing gives the same rows. Its natural key is (host, advisory,
package type/distribution/name, window start); status changes with the clock (open becomes
overdue), so `status_at(now)` and `ExposureQuerySet.with_status(now)` compute it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from evidence.models.advisory import Advisory, AffectedPackage
from evidence.models.fleet import Fleet, Host
from evidence.models.ledger import Package
from portal.accounts.models import Organization


class ExposureStatus(models.TextChoices):
    OPEN = "open", "Open"
    OVERDUE = "overdue", "Overdue"
    FIXED_IN_SLA = "fixed_in_sla", "Fixed within SLA"
    FIXED_LATE = "fixed_late", "Fixed late"
    NOT_AFFECTED = "not_affected", "Not affected (VEX)"
    EXCEPTED = "excepted", "Excepted"
    REGRESSED = "regressed", "Regressed"


class CloseReason(models.TextChoices):
    UPGRADED = "upgraded", "Upgraded to a fixed version"
    REMOVED = "removed", "Package removed"
    NOT_AFFECTED = "not_affected", "VEX: not affected"
    EXCEPTION = "exception", "Risk accepted (exception)"
    HOST_RETIRED = "host_retired", "Host retired"


class ExposureQuerySet(models.QuerySet["Exposure"]):
    def with_status(self, now: datetime | None = None) -> ExposureQuerySet:
        """Annotate `current_status`, the status at `now` (default: the current time)."""
        now = now or timezone.now()
        covered = RiskException.objects.filter(exceptions_in_force(now)).filter(covers("pk"))
        return self.annotate(
            current_status=Case(
                When(closed_reason=CloseReason.NOT_AFFECTED, then=Value("not_affected")),
                When(closed_reason=CloseReason.EXCEPTION, then=Value("excepted")),
                When(Q(fixed_at__isnull=True) & Exists(covered), then=Value("excepted")),
                When(
                    Q(fixed_at__isnull=False)
                    & (Q(due_at__isnull=True) | Q(fixed_at__lte=F("due_at"))),
                    then=Value("fixed_in_sla"),
                ),
                When(fixed_at__isnull=False, then=Value("fixed_late")),
                When(Q(due_at__isnull=False) & Q(due_at__lt=now), then=Value("overdue")),
                When(regression=True, then=Value("regressed")),
                default=Value("open"),
                output_field=models.CharField(),
            )
        )

    def open_at(self, now: datetime) -> ExposureQuerySet:
        """Exposures whose window covers `now` (started, not yet fixed)."""
        return self.filter(
            Q(window_start__lte=now) & (Q(fixed_at__isnull=True) | Q(fixed_at__gt=now))
        )


class Exposure(models.Model):
    # No index of their own: the composite indexes below lead with each of them (organization:
    # exposure_org_counts, fleet: exposure_fleet_due, host: exposure_natural_key, advisory:
    # exposure_advisory_lag), and every index costs matching a write per exposure.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    fleet = models.ForeignKey(
        Fleet, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    host = models.ForeignKey(
        Host, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    advisory = models.ForeignKey(
        Advisory, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    affected = models.ForeignKey(
        AffectedPackage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The package name the window is about, and the versions at its start and (if fixed) end.
    package_type = models.CharField(max_length=32)
    package_distro = models.CharField(max_length=64, blank=True)
    package_name = models.CharField(max_length=255)
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    fixed_by = models.ForeignKey(
        Package, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    window_start = models.DateTimeField(help_text="The vulnerable version was first present.")
    # The timeline.
    published_at = models.DateTimeField(null=True, blank=True)
    fix_available_at = models.DateTimeField(null=True, blank=True)
    kev_added_at = models.DateTimeField(null=True, blank=True)
    kev_due_at = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True)
    regression = models.BooleanField(default=False, help_text="Re-opened by a downgrade.")
    vex_note = models.TextField(
        blank=True, help_text="The VEX statement that closed it as not affected, if any."
    )
    # The SLA verdict under the fleet's profile.
    tier = models.CharField(max_length=16, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    sla_profile = models.CharField(max_length=64, blank=True)
    sla_digest = models.CharField(max_length=64, blank=True)
    sla_rationale = models.TextField(blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    objects = ExposureQuerySet.as_manager()

    class Meta:
        ordering = ["-window_start", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "host", "advisory", "package_type", "package_distro", "package_name",
                    "window_start",
                ],
                name="exposure_natural_key",
            ),
        ]  # fmt: skip
        indexes = [
            # The dashboards' figures (evidence.timeline) read these columns of thousands of
            # exposures; the indexes carry them (`include`, PostgreSQL only) so that they are
            # read from the index alone, without a visit to each row. In an organisation
            # among many, the rows of one are scattered through the table, and those visits
            # were most of the overview's time.
            # The window counts of every period (timeline_counts), by organisation or fleet.
            models.Index(
                fields=["organization", "fleet"],
                include=["tier", "window_start", "fixed_at", "due_at", "closed_reason"],
                name="exposure_org_counts",
            ),
            # The fixes of a period: time to remediate and deployment lag.
            models.Index(
                fields=["organization", "fixed_at"],
                include=["tier", "fix_available_at", "window_start", "host", "closed_reason"],
                name="exposure_org_fixed",
            ),
            # An advisory's exposures; with its dates, the upstream lag of a period.
            models.Index(
                fields=["advisory", "organization"],
                include=[
                    "package_distro",
                    "fix_available_at",
                    "published_at",
                    "closed_reason",
                    "window_start",
                ],
                name="exposure_advisory_lag",
            ),
            models.Index(fields=["fleet", "due_at"], name="exposure_fleet_due"),
            models.Index(
                fields=["package_type", "package_distro", "package_name"], name="exposure_name"
            ),
            # The Exposures page's sorts (newest or oldest first, due soonest or latest, by tier;
            # by host: evidence.Host's hostname index), read in order up to the page shown
            # instead of sorting every exposure of the organisation.
            models.Index(
                fields=["organization", "window_start", "id"], name="exposure_org_started"
            ),
            models.Index(fields=["organization", "due_at", "id"], name="exposure_org_due"),
            models.Index(fields=["organization", "tier", "due_at", "id"], name="exposure_org_tier"),
            # A fleet's open exposures per host, tier and advisory (the fleet page), read from
            # the index alone.
            models.Index(
                fields=["fleet", "organization", "host", "tier", "advisory", "closed_reason"],
                condition=Q(fixed_at__isnull=True),
                name="exposure_fleet_open",
            ),
            # The few known-exploited exposures, counted apart from the others (timeline_counts).
            models.Index(
                fields=["organization"],
                condition=Q(kev_added_at__isnull=False),
                name="exposure_org_kev",
            ),
            # The advisories whose fix became available in a period (upstream lag).
            models.Index(
                fields=["organization", "fix_available_at", "advisory"],
                name="exposure_org_fix_available",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.advisory} on {self.host_id} ({self.package_name})"

    def exception_in_force(self, now: datetime) -> RiskException | None:
        """The approved, unexpired exception covering this exposure at `now`, if any."""
        return (
            RiskException.objects.filter(exceptions_in_force(now))
            .filter(
                Q(exposure_id=self.pk)
                | Q(exposure_ref=self.pk)
                | Q(
                    exposure_ref__isnull=True,
                    advisory_id=self.advisory_id,
                    fleet_id=self.fleet_id,
                )
            )
            .order_by("-expires_at")
            .first()
        )

    def status_at(self, now: datetime | None = None) -> str:
        """The exposure's status at `now` (see ExposureStatus)."""
        now = now or timezone.now()
        if self.closed_reason == CloseReason.NOT_AFFECTED:
            return ExposureStatus.NOT_AFFECTED
        if self.closed_reason == CloseReason.EXCEPTION:
            return ExposureStatus.EXCEPTED
        if self.fixed_at is None and self.exception_in_force(now) is not None:
            return ExposureStatus.EXCEPTED
        if self.fixed_at is not None:
            if self.due_at is None or self.fixed_at <= self.due_at:
                return ExposureStatus.FIXED_IN_SLA
            return ExposureStatus.FIXED_LATE
        if self.due_at is not None and self.due_at < now:
            return ExposureStatus.OVERDUE
        return ExposureStatus.REGRESSED if self.regression else ExposureStatus.OPEN


class RiskException(models.Model):
    """Risk accepted for one exposure, or for an advisory across a fleet, until it expires.

    Requested by one person and approved by a different one; an exposure it covers counts as
    `excepted` while the exception is approved, not revoked and not expired. Nothing here
    closes the window: once the exception lapses, the exposure is open (or overdue) again.
    """

    MAX_DAYS = 90

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="risk_exceptions")
    # The exposure it covers. When matching replaces that exposure (its window moved because
    # earlier evidence arrived), the exception follows the replacement (`evidence.matching`);
    # `exposure_ref` keeps the id it was approved for, so the history still shows it covered.
    exposure = models.ForeignKey(
        Exposure, on_delete=models.SET_NULL, null=True, blank=True, related_name="exceptions"
    )
    exposure_ref = models.BigIntegerField(
        null=True, blank=True, help_text="The exposure id it was requested for (kept)."
    )
    advisory = models.ForeignKey(
        Advisory, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    justification = models.TextField()
    compensating_controls = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(exposure_ref__isnull=False) | Q(advisory__isnull=False),
                name="exception_covers_something",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="exception_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        what = (
            f"exposure {self.exposure_ref}" if self.exposure_ref else f"advisory {self.advisory_id}"
        )
        return f"exception for {what} until {self.expires_at:%Y-%m-%d}"

    def state_at(self, now: datetime | None = None) -> str:
        """requested, approved, expired or revoked, at `now`."""
        now = now or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.approved_at is not None and self.approved_at <= now:
            return "approved"
        return "requested"


def exceptions_in_force(now: datetime) -> Q:
    """Exceptions approved by `now`, not revoked and not expired at `now`."""
    return Q(approved_at__isnull=False, approved_at__lte=now, expires_at__gt=now) & (
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=now)
    )


def covers(exposure_ref: str) -> Q:
    """Exceptions covering the exposure whose id is the outer query's `exposure_ref` field
    ("pk" for exposures, "exposure_id" for their history): approved for it, carried over to
    it, or for its advisory across its fleet."""
    return (
        Q(exposure_id=OuterRef(exposure_ref))
        | Q(exposure_ref=OuterRef(exposure_ref))
        | Q(
            exposure_ref__isnull=True,
            advisory_id=OuterRef("advisory_id"),
            fleet_id=OuterRef("fleet_id"),
        )
    )
