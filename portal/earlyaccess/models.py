"""Early-access registrations for Azure Linux 4."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


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


class Registration(models.Model):
    """One organisation's interest in the Azure Linux 4 early-access programme.

    `consent_notice_version` and `consented_at` record exactly what the registrant agreed to.
    """

    organization_name = models.CharField("organisation", max_length=200)
    contact_name = models.CharField(max_length=200)
    work_email = models.EmailField(max_length=254, unique=True)
    fleet_size = models.CharField(max_length=16, choices=FleetSize.choices)
    current_distribution = models.CharField(max_length=32, choices=CurrentDistribution.choices)
    consent_notice_version = models.CharField(max_length=32)
    consented_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fleet_size__in=[c.value for c in FleetSize]),
                name="registration_fleet_size_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_name} ({self.work_email})"
