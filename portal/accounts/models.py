"""Tenancy: organisations, memberships and roles, auditors, API tokens, the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Organization(models.Model):
    """A tenant. Everything evidence-related belongs to exactly one organisation."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    OFFICER = "officer", "Compliance officer"
    VIEWER = "viewer", "Viewer"


WRITER_ROLES = frozenset({Role.OWNER, Role.OFFICER})


class Membership(models.Model):
    """A user's role in one organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.role}"


class AuditorGrant(models.Model):
    """Read-only access for an external auditor to one organisation (optionally one fleet),
    until `expires_at`."""

    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auditor_grants"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="auditor_grants"
    )
    fleet = models.ForeignKey(
        "evidence.Fleet",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="auditor_grants",
        help_text="Leave empty to grant the whole organisation.",
    )
    expires_at = models.DateTimeField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["auditor", "expires_at"])]

    def __str__(self) -> str:
        scope = f" / {self.fleet}" if self.fleet_id else ""
        return f"{self.auditor} audits {self.organization}{scope} until {self.expires_at:%Y-%m-%d}"


class ApiToken(models.Model):
    """A bearer token for agents and pipelines, stored as its SHA-256; the secret is shown once."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    fleet = models.ForeignKey(
        "evidence.Fleet",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text="Leave empty for a token that may act on every fleet of the organisation.",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditEvent(models.Model):
    """One entry of the append-only audit log.

    `hash` is sha256(previous row's hash + canonical JSON of this event), so editing or
    deleting any row breaks the chain; `verify_audit_log` walks it. A database trigger also
    refuses UPDATE and, on PostgreSQL, DELETE (see migration 0003).
    """

    seq = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, null=True, db_constraint=False
    )
    actor_label = models.CharField(max_length=200)
    organization = models.ForeignKey(
        Organization, on_delete=models.DO_NOTHING, null=True, db_constraint=False
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["organization", "occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"


class AuditChainHead(models.Model):
    """The single row that holds the last sequence number and hash of the audit log.

    Appending locks this row, which serialises writers and lets verification notice a
    deleted tail."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"
