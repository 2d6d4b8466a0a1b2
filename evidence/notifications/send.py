"""Services: record each due event once as a Notification, and deliver it by email and webhook.

`notifications_scan` is run by beat every 15 minutes (`evidence.notifications.scan`) and by the
`notify` command. Delivery runs in Celery tasks that take the notification id: each service claims
its work with a conditional UPDATE, so a redelivered or duplicated task sends nothing twice.
"""

from __future__ import annotations

import json
import smtplib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from evidence.models import Notification, WebhookEndpoint, WebhookStatus
from evidence.notifications.detect import notification_events
from evidence.notifications.preferences import notification_recipients
from evidence.notifications.webhook import (
    WebhookFailed,
    WebhookRefused,
    WebhookTransient,
    webhook_post,
)

# Undelivered notifications older than this are queued again by the next scan (their task was
# lost: broker restart, worker killed). Longer than the webhook task's whole retry schedule.
REQUEUE_AFTER = timedelta(hours=1)


@dataclass
class ScanCounts:
    """What one scan did: events found, notifications created (per kind), deliveries requeued."""

    found: int = 0
    created: Counter[str] = field(default_factory=Counter)
    requeued: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "found": self.found,
            "created": sum(self.created.values()),
            "created_by_kind": dict(sorted(self.created.items())),
            "requeued": self.requeued,
        }


def _queue_delivery(notification_id: int, *, webhook: bool) -> None:
    from evidence.tasks import notify_email, notify_webhook

    def queue() -> None:
        notify_email.delay(notification_id)
        if webhook:
            notify_webhook.delay(notification_id)

    transaction.on_commit(queue)


def notifications_scan(*, now: datetime | None = None) -> ScanCounts:
    """Create a Notification for every event due at `now` that has none, and queue delivery.

    Idempotent: each event's (organisation, key) is unique in the database, so a second scan, or
    two scans at once, create nothing new and queue nothing new. Webhook delivery is queued only
    for organisations with an enabled endpoint (otherwise `webhook_status` is `none`). Also
    re-queues deliveries still pending REQUEUE_AFTER after their notification was created.
    """
    now = now or timezone.now()
    counts = ScanCounts()
    hooked = set(
        WebhookEndpoint.objects.filter(enabled=True).values_list("organization_id", flat=True)
    )
    for event in notification_events(now=now):
        counts.found += 1
        webhook = event.organization_id in hooked
        notification, created = Notification.objects.get_or_create(
            organization_id=event.organization_id,
            key=event.key,
            defaults={
                "kind": event.kind,
                "subject": event.subject[:200],
                "body": event.body,
                "payload": event.payload,
                "created_at": now,
                "webhook_status": WebhookStatus.PENDING if webhook else WebhookStatus.NONE,
            },
        )
        if created:
            counts.created[event.kind] += 1
            _queue_delivery(notification.pk, webhook=webhook)
    stuck = Notification.objects.filter(created_at__lt=now - REQUEUE_AFTER).filter(
        Q(emailed_at__isnull=True) | Q(webhook_status=WebhookStatus.PENDING)
    )
    for pk, status in stuck.values_list("pk", "webhook_status"):
        counts.requeued += 1
        _queue_delivery(pk, webhook=status == WebhookStatus.PENDING)
    return counts


def notification_email(*, notification_id: int, now: datetime | None = None) -> Notification:
    """Email the notification, one message each, to the members who want it; record who and when.

    Idempotent: the row is claimed by setting `emailed_at` where it is empty; a claimed row is
    returned untouched. No recipient is not an error (`email_recipients` stays empty). When the
    mail server fails, the claim is released, the error recorded in `email_error` and the
    exception re-raised so the task retries. Raises Notification.DoesNotExist for an unknown id.
    """
    now = now or timezone.now()
    notification = Notification.objects.get(pk=notification_id)
    if not Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=now
    ):
        notification.refresh_from_db()
        return notification
    recipients = notification_recipients(
        organization_id=notification.organization_id, kind=notification.kind
    )
    messages = [
        EmailMessage(subject=notification.subject, body=notification.body, to=[address])
        for address in recipients
    ]
    try:
        if messages:
            with get_connection() as connection:
                connection.send_messages(messages)
    except (smtplib.SMTPException, OSError) as exc:
        Notification.objects.filter(pk=notification_id).update(
            emailed_at=None,
            email_error=f"sending the email failed: {exc.__class__.__name__}: {exc}",
        )
        raise
    Notification.objects.filter(pk=notification_id).update(
        email_recipients=recipients, email_error=""
    )
    notification.refresh_from_db()
    return notification


def notification_document(notification: Notification) -> bytes:
    """The webhook body: the notification as compact JSON (the same bytes on every attempt)."""
    document = {
        "id": notification.pk,
        "kind": notification.kind,
        "key": notification.key,
        "organization": notification.organization.slug,
        "subject": notification.subject,
        "body": notification.body,
        "created_at": notification.created_at.isoformat(),
        "data": notification.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _webhook_record(notification_id: int, **fields: object) -> None:
    Notification.objects.filter(pk=notification_id).update(**fields)


def notification_webhook(
    *, notification_id: int, final: bool = False, now: datetime | None = None
) -> Notification:
    """POST the notification to its organisation's webhook, signed; record the attempt.

    Only a `pending` row is sent. Each attempt is claimed by a conditional UPDATE of
    `webhook_attempts`, so two workers never make the same attempt. Success records `sent` and
    the time. A failure no retry fixes (4xx, redirect, refused URL, endpoint gone or disabled)
    records `failed` at once. A transient failure (timeout, 5xx, 429) records the error and
    raises WebhookTransient so the task retries, unless `final` (the task's last try): then
    `failed` is recorded and nothing is raised. Raises Notification.DoesNotExist for an unknown id.
    """
    now = now or timezone.now()
    notification = Notification.objects.select_related("organization").get(pk=notification_id)
    attempt = notification.webhook_attempts
    if notification.webhook_status != WebhookStatus.PENDING or not (
        Notification.objects.filter(
            pk=notification_id, webhook_status=WebhookStatus.PENDING, webhook_attempts=attempt
        ).update(webhook_attempts=attempt + 1)
    ):
        notification.refresh_from_db()
        return notification
    endpoint = WebhookEndpoint.objects.filter(
        organization_id=notification.organization_id, enabled=True
    ).first()
    try:
        if endpoint is None:
            raise WebhookFailed("the organisation has no enabled webhook endpoint any more")
        webhook_post(
            url=endpoint.url,
            secret=endpoint.secret,
            body=notification_document(notification),
            event=notification.kind,
            delivery=str(notification.pk),
        )
    except WebhookTransient as exc:
        error = f"attempt {attempt + 1}: {exc}"
        if final:
            _webhook_record(
                notification_id,
                webhook_status=WebhookStatus.FAILED,
                webhook_error=f"{error} (gave up after {attempt + 1} attempts)",
            )
        else:
            _webhook_record(notification_id, webhook_error=error)
            raise
    except (WebhookFailed, WebhookRefused) as exc:
        _webhook_record(
            notification_id,
            webhook_status=WebhookStatus.FAILED,
            webhook_error=f"attempt {attempt + 1}: {exc}",
        )
    else:
        _webhook_record(
            notification_id,
            webhook_status=WebhookStatus.SENT,
            webhook_sent_at=now,
            webhook_error="",
        )
    notification.refresh_from_db()
    return notification
