"""Early-access registrations for Azure Linux 4, the bundles offered to them, retention runs.

A registration holds personal data (names, a work address) only while it is live: erasing one
(on request or by retention) blanks every personal field and keeps an anonymised row, so the
programme can still count how many organisations, of which size, from where, registered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.earlyaccess.countries import COUNTRIES


class FleetSize(models.TextChoices):
    UNDER_50 = "1-49", "1-49 hosts"
    UNDER_500 = "50-499", "50-499 hosts"
    UNDER_5000 = "500-4999", "500-4,999 hosts"
    LARGE = "5000+", "5,000 hosts or more"


class CurrentDistribution(models.TextChoices):
    CBL_MARINER_2 = "cbl-mariner-2", "CBL-Mariner 2"
    AZURELINUX_3 = "azurelinux-3", "Azure Linux 3"
    FEDORA = "fedora", "Fedora"
    RHEL_FAMILY = "rhel-family", "RHEL-family (RHEL, Alma, Rocky, CentOS Stream)"
    OTHER = "other", "Other"


class Workload(models.TextChoices):
    WEB = "web", "Web and API services"
    CONTAINERS = "containers", "Containers / AKS nodes"
    DATABASES = "databases", "Databases"
    DATA = "data", "Data and analytics"
    HPC = "hpc", "HPC and batch"
    AI = "ai", "AI / GPU"
    EDGE = "edge", "Edge and IoT"
    OTHER = "other", "Other"


class Status(models.TextChoices):
    UNCONFIRMED = "unconfirmed", "Awaiting confirmation"
    NEW = "new", "New lead"
    APPROVED = "approved", "Approved"
    WAITLISTED = "waitlisted", "Waitlisted"
    REJECTED = "rejected", "Rejected"
    ONBOARDED = "onboarded", "Onboarded"
    DELETED = "deleted", "Erased (anonymised)"


class ErasureReason(models.TextChoices):
    REQUEST = "request", "Registrant's request"
    RETENTION = "retention", "Retention period ended"
    STAFF = "staff", "Staff, on a request received elsewhere"


class Bundle(models.Model):
    """What an approved registrant receives: Azure Linux 4 images and the migration scripts for
    the distribution they run now. At most one active bundle per distribution."""

    name = models.CharField(max_length=200)
    distribution = models.CharField(
        "for registrants on",
        max_length=32,
        choices=CurrentDistribution.choices,
        help_text="Registrants running this distribution receive this bundle.",
    )
    is_active = models.BooleanField(default=True)
    instructions = models.TextField(
        max_length=4000, blank=True, help_text="Plain text, included in the email."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["distribution", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["distribution"],
                condition=Q(is_active=True),
                name="bundle_one_active_per_distribution",
                violation_error_message=(
                    "There is already an active bundle for registrants on this distribution; "
                    "deactivate that one first."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BundleLink(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        SCRIPT = "script", "Migration script"
        DOCS = "docs", "Documentation"

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label


class Registration(models.Model):
    """One organisation's interest in the Azure Linux 4 early-access programme.

    `consent_notice_version` and `consented_at` record exactly what the registrant agreed to.
    A registration is a lead for staff only once `confirmed_at` is set (double opt-in). When a
    confirmed address registers again, the new details wait in `pending_changes` until that
    address confirms them, so nobody can rewrite someone else's registration.
    """

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNCONFIRMED)
    organization_name = models.CharField("organisation", max_length=200, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    # NULL once erased; stored lower-cased, so the unique index is case-insensitive.
    work_email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    country = models.CharField(max_length=2, choices=COUNTRIES, blank=True)
    fleet_size = models.CharField(max_length=16, choices=FleetSize.choices)
    current_distribution = models.CharField(max_length=32, choices=CurrentDistribution.choices)
    azure_regions = models.JSONField(default=list, blank=True)
    workloads = models.JSONField(default=list, blank=True)
    workloads_other = models.CharField("other workloads", max_length=300, blank=True)
    wants_migration_tooling = models.BooleanField("interested in migration tooling", default=False)
    consent_notice_version = models.CharField(max_length=32)
    consented_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Changes with every submission; a confirmation link names it, so only the latest works.
    confirm_nonce = models.CharField(max_length=32, blank=True)
    pending_changes = models.JSONField(null=True, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    bundle = models.ForeignKey(
        Bundle, on_delete=models.PROTECT, null=True, blank=True, related_name="registrations"
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The portal organisation created when this registration was approved.",
    )
    portal_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The account invited as the organisation's owner.",
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    erasure_reason = models.CharField(max_length=16, choices=ErasureReason.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last submission by the registrant (not staff changes): retention counts from here.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="registration_status_idx"),
            models.Index(fields=["confirmed_at"], name="registration_confirmed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fleet_size__in=[c.value for c in FleetSize]),
                name="registration_fleet_size_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]),
                name="registration_status_valid",
            ),
            # Erased rows keep no personal data; live rows always have an address.
            models.CheckConstraint(
                condition=(
                    Q(
                        status=Status.DELETED,
                        work_email__isnull=True,
                        organization_name="",
                        contact_name="",
                        workloads_other="",
                        pending_changes__isnull=True,
                        erased_at__isnull=False,
                    )
                    | (~Q(status=Status.DELETED) & Q(work_email__isnull=False))
                ),
                name="registration_erased_is_anonymous",
            ),
            # A lead is a confirmed address: staff statuses need a confirmation first.
            models.CheckConstraint(
                condition=Q(status__in=[Status.UNCONFIRMED, Status.DELETED])
                | Q(confirmed_at__isnull=False),
                name="registration_lead_is_confirmed",
            ),
        ]

    def __str__(self) -> str:
        # No personal data: this string ends up in Django's admin log and in messages.
        return f"Registration #{self.pk}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RetentionRun(models.Model):
    """What one run of the retention task deleted or erased, and under which limits."""

    ran_at = models.DateTimeField(default=timezone.now)
    unconfirmed_days = models.PositiveIntegerField()
    rejected_days = models.PositiveIntegerField()
    unconfirmed_deleted = models.PositiveIntegerField(default=0)
    rejected_erased = models.PositiveIntegerField(default=0)
    pending_discarded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"Retention run {self.ran_at:%Y-%m-%d %H:%M}"
