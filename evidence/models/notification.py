"""Notifications: what was sent about which event, to whom, and each user's preferences.

A `Notification` row is the record that an event (an exposure became overdue, a KEV item is open
on a host, an exception is about to expire, a feed went stale) was noticed for an organisation.
Its `key` names the event; the unique (organization, key) constraint is what makes each event
notified once, even when two scans run at the same time. Delivery state (email, webhook) is kept
on the row, so a failure is visible where it happened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.accounts.models import Organization, Role


class NotificationKind(models.TextChoices):
    EXPOSURE_OVERDUE = "exposure_overdue", "Exposure overdue"
    KEV_ON_HOST = "kev_on_host", "Known-exploited vulnerability on a host"
    EXCEPTION_EXPIRING = "exception_expiring", "Risk exception about to expire"
    FEED_STALE = "feed_stale", "Advisory feed stale"


class WebhookStatus(models.TextChoices):
    NONE = "none", "No webhook configured"
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


# Without a preference row, the roles that act on findings get email; the others do not.
EMAIL_BY_DEFAULT = frozenset({Role.OWNER, Role.OFFICER})


class NotificationPreference(models.Model):
    """Whether one user wants email of one kind of notification from one organisation.

    No row means the default: on for owners and officers, off for viewers (EMAIL_BY_DEFAULT).
    Auditors are not members and are never notified.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    email = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "kind"], name="notification_preference_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in NotificationKind]),
                name="notification_preference_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} email={'on' if self.email else 'off'}"


class WebhookEndpoint(models.Model):
    """The organisation's webhook: notifications are POSTed to `url`, signed with `secret`.

    The secret is kept in clear because signing needs it; it is shown once, when the endpoint is
    created (`evidence.notifications.webhook.webhook_endpoint_create`).
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoint"
    )
    url = models.URLField(max_length=1000, help_text="http(s) URL that receives the POSTs.")
    secret = models.CharField(max_length=128, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"webhook of {self.organization_id} to {self.url}"


class Notification(models.Model):
    """One event, noticed once for one organisation, and how its delivery went."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=200, help_text="Names the event; unique per organisation.")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # Email: claimed by setting emailed_at (see notification_email).
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_recipients = models.JSONField(default=list, blank=True)
    email_error = models.TextField(blank=True)
    # Webhook.
    webhook_status = models.CharField(
        max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.NONE
    )
    webhook_attempts = models.PositiveIntegerField(default=0)
    webhook_error = models.TextField(blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="notification_once"),
            models.CheckConstraint(
                condition=models.Q(webhook_status__in=[s.value for s in WebhookStatus]),
                name="notification_webhook_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="notification_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
