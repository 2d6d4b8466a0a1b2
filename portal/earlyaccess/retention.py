"""Retention of early-access data, run daily by beat (`portal.earlyaccess.retention`).

- Unconfirmed registrations are deleted outright EARLY_ACCESS_UNCONFIRMED_DAYS after their
  last submission: the address never proved it wanted to be here, so nothing is kept.
- Rejected registrations are erased (anonymised, like an erasure request)
  EARLY_ACCESS_REJECTED_DAYS after the rejection.
- Details a confirmed registrant submitted again but never confirmed are discarded after
  EARLY_ACCESS_UNCONFIRMED_DAYS.

Each run is recorded as a RetentionRun and in the audit log (ids only). Idempotent: a second
run on the same day finds nothing left to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts.audit import audit_record
from portal.earlyaccess.models import ErasureReason, Registration, RetentionRun, Status
from portal.earlyaccess.services import registration_erase

SCHEDULE_NAME = "earlyaccess:retention"
TASK = "portal.earlyaccess.retention"


def retention_apply(*, now: datetime | None = None) -> RetentionRun:
    """Delete, erase and discard what is past its retention period; record what was done."""
    now = now or timezone.now()
    unconfirmed_days = settings.EARLY_ACCESS_UNCONFIRMED_DAYS
    rejected_days = settings.EARLY_ACCESS_REJECTED_DAYS
    unconfirmed_before = now - timedelta(days=unconfirmed_days)
    rejected_before = now - timedelta(days=rejected_days)
    with transaction.atomic():
        stale = Registration.objects.filter(
            status=Status.UNCONFIRMED, confirmed_at__isnull=True, updated_at__lt=unconfirmed_before
        )
        deleted_ids = sorted(stale.values_list("pk", flat=True))
        Registration.objects.filter(pk__in=deleted_ids).delete()

        rejected_ids = sorted(
            Registration.objects.filter(
                status=Status.REJECTED, status_changed_at__lt=rejected_before
            ).values_list("pk", flat=True)
        )
        for registration_id in rejected_ids:
            registration_erase(registration_id=registration_id, reason=ErasureReason.RETENTION)

        pending_ids = sorted(
            Registration.objects.filter(
                pending_changes__isnull=False, pending_since__lt=unconfirmed_before
            ).values_list("pk", flat=True)
        )
        Registration.objects.filter(pk__in=pending_ids).update(
            pending_changes=None, pending_since=None
        )

        run = RetentionRun.objects.create(
            ran_at=now,
            unconfirmed_days=unconfirmed_days,
            rejected_days=rejected_days,
            unconfirmed_deleted=len(deleted_ids),
            rejected_erased=len(rejected_ids),
            pending_discarded=len(pending_ids),
        )
        audit_record(
            action="earlyaccess.retention",
            target=run,
            data={
                "unconfirmed_days": unconfirmed_days,
                "rejected_days": rejected_days,
                "deleted_unconfirmed_ids": deleted_ids,
                "erased_rejected_ids": rejected_ids,
                "discarded_pending_ids": pending_ids,
            },
        )
    return run


def schedule_retention() -> object:
    """Create or update the daily beat entry (idempotent; called after `migrate`)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="20", hour="4", day_of_month="*", month_of_year="*", day_of_week="*", timezone="UTC"
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "interval": None,
            "queue": "feeds",
            # A run that did not start within the day is replaced by the next day's.
            "expire_seconds": 23 * 60 * 60,
            "description": "Delete unconfirmed and erase rejected early-access registrations",
        },
    )
    return task
