"""Periodic evaluation: every organisation's controls for the month that just ended.

Control PTL-AUD-02 ("periodic reporting") asks for a report every month; beat runs
`evidence.controls.evaluate_monthly` on the first of each month (03:00 UTC), which queues one
whole-organisation evaluation of the previous calendar month per organisation. Idempotent: an
organisation that already has a scheduled evaluation of that month gets no second one.
"""

from __future__ import annotations

from datetime import date, timedelta

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from evidence.controls.evaluate import evaluation_request
from evidence.models import ControlEvaluation
from portal.accounts.models import Organization

TASK = "evidence.controls.evaluate_monthly"
SCHEDULE_NAME = "controls:monthly"


def previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def evaluations_monthly(*, today: date) -> list[ControlEvaluation]:
    """Queue the previous month's evaluation of every organisation that has none yet."""
    start, end = previous_month(today)
    queued = []
    for organization in Organization.objects.order_by("pk"):
        exists = ControlEvaluation.objects.filter(
            organization=organization,
            fleet__isnull=True,
            period_start=start,
            period_end=end,
            requested_by__isnull=True,
        ).exists()
        if not exists:
            queued.append(
                evaluation_request(
                    organization=organization, fleet=None, period_start=start, period_end=end
                )
            )
    return queued


def schedule_monthly() -> PeriodicTask:
    """The beat entry (created or updated after `migrate`)."""
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_month="1", month_of_year="*", day_of_week="*", timezone="UTC"
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "interval": None,
            "queue": "packets",
            "description": "Evaluate every organisation's controls for the previous month",
        },
    )
    return task
