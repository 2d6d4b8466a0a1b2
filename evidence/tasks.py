"""Celery tasks: thin wrappers that take ids and call one service each.

Every task is idempotent (its service claims the row with a conditional UPDATE), so
`acks_late` redelivery is safe. Retries are only for transient infrastructure errors.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from evidence.ingest import sbom_ingest, sbom_requeue_stuck
from evidence.models import AuditPacket, SbomDocument
from evidence.notifications.webhook import WebhookTransient
from evidence.packets.build import packet_render

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    name="evidence.sbom.ingest",
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def ingest_sbom(self: Task, document_id: int) -> str:
    try:
        return sbom_ingest(document_id=document_id, task_id=self.request.id).status
    except SbomDocument.DoesNotExist:
        return "gone"  # deleted after it was queued: nothing to do


@shared_task(
    name="evidence.sbom.requeue_stuck",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
)
def requeue_stuck_sboms() -> int:
    # Longer than the ingest task's hard time limit, so a running ingest is never taken twice.
    return len(sbom_requeue_stuck(older_than=timedelta(minutes=15)))


@shared_task(
    name="evidence.work.requeue_stuck",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
)
def requeue_stuck_work() -> dict[str, int]:
    """The sweeper: SBOM ingests, packet renders and control evaluations stuck in queued or
    running past their task's time limit (a lost message, a killed worker) are queued again."""
    from evidence.sweeper import work_requeue_stuck

    return work_requeue_stuck()


@shared_task(
    name="evidence.packets.render",
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def render_packet(self: Task, packet_id: int) -> str:
    try:
        return packet_render(packet_id=packet_id, task_id=self.request.id).status
    except AuditPacket.DoesNotExist:
        return "gone"


@shared_task(
    name="evidence.controls.evaluate",
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def evaluate_controls(self: Task, evaluation_id: int) -> str:
    from evidence.controls.evaluate import evaluation_execute
    from evidence.models import ControlEvaluation

    try:
        return evaluation_execute(evaluation_id=evaluation_id, task_id=self.request.id).status
    except ControlEvaluation.DoesNotExist:
        return "gone"


@shared_task(name="evidence.controls.evaluate_monthly", acks_late=True, time_limit=10 * 60)
def evaluate_controls_monthly() -> int:
    from django.utils import timezone

    from evidence.controls.periodic import evaluations_monthly

    return len(evaluations_monthly(today=timezone.now().date()))


@shared_task(
    name="evidence.feeds.sync",
    acks_late=True,
    soft_time_limit=50 * 60,
    time_limit=55 * 60,
)
def sync_feed(slug: str, trigger: str = "beat") -> str:
    """Sync one feed source (fetch failures are recorded on the run, not retried here: the
    fetcher already retries transient errors, and beat tries again at the next interval)."""
    from evidence.feeds.sync import feed_sync
    from evidence.models import FeedSource

    source = FeedSource.objects.filter(slug=slug, enabled=True).first()
    if source is None:
        return "disabled"
    return feed_sync(source, trigger=trigger).status


@shared_task(
    name="evidence.exposures.for_advisories",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def exposures_for_advisories_task(advisory_ids: list[int]) -> dict[str, int]:
    """Match new or changed advisories against every ledger (idempotent: a reconcile)."""
    from evidence.matching import exposures_for_advisories

    return exposures_for_advisories(advisory_ids).as_dict()


@shared_task(
    name="evidence.exposures.for_snapshot",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def exposures_for_snapshot_task(document_id: int) -> dict[str, int]:
    """Match the package names a newly applied snapshot changed (idempotent: a reconcile)."""
    from evidence.matching import ReconcileCounts, exposures_for_snapshot

    document = SbomDocument.objects.filter(pk=document_id).first()
    if document is None:
        return ReconcileCounts().as_dict()
    return exposures_for_snapshot(document).as_dict()


@shared_task(
    name="evidence.exposures.recompute",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=50 * 60,
    time_limit=55 * 60,
)
def exposures_recompute_task(organization_id: int) -> dict[str, int]:
    """Recompute an organisation's exposures (after a policy change; idempotent)."""
    from evidence.matching import exposures_recompute

    return exposures_recompute(organization_id=organization_id).as_dict()


@shared_task(
    name="evidence.notifications.scan", acks_late=True, soft_time_limit=5 * 60, time_limit=6 * 60
)
def notify_scan() -> dict[str, object]:
    """Record and queue every notification due now (idempotent: each event is notified once)."""
    from evidence.notifications.send import notifications_scan

    return notifications_scan().as_dict()


@shared_task(
    name="evidence.notifications.email",
    acks_late=True,
    autoretry_for=(*TRANSIENT, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
    soft_time_limit=2 * 60,
    time_limit=3 * 60,
)
def notify_email(notification_id: int) -> str:
    """Email one notification (idempotent: a notification already emailed is not sent again)."""
    from evidence.models import Notification
    from evidence.notifications.send import notification_email

    try:
        return ",".join(notification_email(notification_id=notification_id).email_recipients)
    except Notification.DoesNotExist:
        return "gone"


@shared_task(
    bind=True,
    name="evidence.notifications.webhook",
    acks_late=True,
    autoretry_for=(*TRANSIENT, WebhookTransient),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
    soft_time_limit=2 * 60,
    time_limit=3 * 60,
)
def notify_webhook(self: Task, notification_id: int) -> str:
    """POST one notification to its organisation's webhook; the last retry records `failed`."""
    from evidence.models import Notification
    from evidence.notifications.send import notification_webhook

    final = self.request.retries >= (self.max_retries or 0)
    try:
        return notification_webhook(notification_id=notification_id, final=final).webhook_status
    except Notification.DoesNotExist:
        return "gone"
