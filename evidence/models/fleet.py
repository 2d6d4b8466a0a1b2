"""Fleets and their hosts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.accounts.models import Organization


class Distribution(models.TextChoices):
    AZURELINUX_4 = "azurelinux-4", "Azure Linux 4"
    AZURELINUX_3 = "azurelinux-3", "Azure Linux 3"
    CBL_MARINER_2 = "cbl-mariner-2", "CBL-Mariner 2"
    FEDORA_40 = "fedora-40", "Fedora 40"
    FEDORA_41 = "fedora-41", "Fedora 41"
    FEDORA_42 = "fedora-42", "Fedora 42"
    RHEL_8 = "rhel-8", "Red Hat Enterprise Linux 8"
    RHEL_9 = "rhel-9", "Red Hat Enterprise Linux 9"
    DEBIAN_12 = "debian-12", "Debian 12"
    UBUNTU_2404 = "ubuntu-24.04", "Ubuntu 24.04"
    OTHER = "other", "Other"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    STAGING = "staging", "Staging"
    DEVELOPMENT = "development", "Development"


class Fleet(models.Model):
    """A group of hosts run the same way: one distribution, one environment, one owner."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="fleets")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    distribution = models.CharField(max_length=32, choices=Distribution.choices)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.PRODUCTION
    )
    processes_personal_data = models.BooleanField(
        default=False, help_text="Hosts of this fleet store or process personal data."
    )
    internet_exposed = models.BooleanField(
        default=False, help_text="Hosts of this fleet accept connections from the internet."
    )
    sla_profile = models.CharField(
        max_length=64,
        default="balanced",
        help_text="The SLA profile remediation deadlines follow (evidence/sla/data/<slug>.yaml).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="fleet_slug_unique"),
            models.CheckConstraint(
                condition=Q(environment__in=[e.value for e in Environment]),
                name="fleet_environment_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Host(models.Model):
    """One machine of a fleet, known by its hostname; first/last seen come from its SBOMs."""

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="hosts")
    hostname = models.CharField(max_length=253)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["hostname"]
        constraints = [
            models.UniqueConstraint(fields=["fleet", "hostname"], name="host_unique_in_fleet"),
        ]
        # Host lists, and the Exposures page sorted by host, read hosts in hostname order.
        indexes = [models.Index(fields=["hostname"], name="host_hostname")]

    def __str__(self) -> str:
        return self.hostname


class SlaProfileChange(models.Model):
    """A fleet's SLA profile was set or changed: the policy is audit evidence, so every change
    is kept with who made it, when, the previous profile and the exact version applied."""

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="sla_changes")
    profile = models.CharField(max_length=64)
    profile_version = models.CharField(max_length=64)
    profile_digest = models.CharField(max_length=64)
    previous = models.CharField(max_length=64, blank=True)
    previous_digest = models.CharField(max_length=64, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.fleet_id}: {self.previous or '-'} -> {self.profile}"
