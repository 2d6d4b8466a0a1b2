"""The beat entry that runs the notification scan every 15 minutes (created after `migrate`)."""

from __future__ import annotations

from django_celery_beat.models import IntervalSchedule, PeriodicTask

TASK = "evidence.notifications.scan"
SCHEDULE_NAME = "notifications:scan"
EVERY_SECONDS = 15 * 60


def schedule_notifications() -> PeriodicTask:
    """Create or update the scan's periodic task (idempotent)."""
    every, _ = IntervalSchedule.objects.get_or_create(
        every=EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "crontab": None,
            "queue": "feeds",
            # A scan not started within one interval is replaced by the next one.
            "expire_seconds": EVERY_SECONDS,
            "description": "Notify overdue exposures, KEV items, expiring exceptions, stale feeds",
        },
    )
    return task
