"""Celery beat schedules for feed sources (django-celery-beat's database scheduler).

Each FeedSource has one PeriodicTask named `feed:<slug>` running `evidence.feeds.sync` every
`interval`, enabled while the source is enabled and has a URL. Kept in step on every save of a
source and after `migrate`.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from evidence.models import FeedSource

TASK = "evidence.feeds.sync"


def schedule_name(source: FeedSource) -> str:
    return f"feed:{source.slug}"


def schedule_sync(source: FeedSource) -> PeriodicTask:
    """Create or update the source's periodic task to match the source."""
    seconds = max(60, int(source.interval.total_seconds()))
    every, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=schedule_name(source),
        defaults={
            "task": TASK,
            "interval": every,
            "args": json.dumps([source.slug]),
            "queue": "feeds",
            "enabled": source.enabled and bool(source.url),
            "description": f"Sync the {source.kind} feed {source.slug}",
        },
    )
    return task


@receiver(post_save, sender=FeedSource)
def _source_saved(sender: Any, instance: FeedSource, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        schedule_sync(instance)


@receiver(post_delete, sender=FeedSource)
def _source_deleted(sender: Any, instance: FeedSource, **kwargs: Any) -> None:
    PeriodicTask.objects.filter(name=schedule_name(instance)).delete()


def _after_migrate(sender: Any, **kwargs: Any) -> None:
    from evidence.feeds.sync import sources_ensure

    for source in sources_ensure():
        schedule_sync(source)
    from evidence.controls.periodic import schedule_monthly

    schedule_monthly()
    from evidence.notifications.schedule import schedule_notifications

    schedule_notifications()
