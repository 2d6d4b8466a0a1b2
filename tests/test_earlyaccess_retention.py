"""Retention of early-access registrations: the daily task and what it records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from portal.accounts.models import AuditEvent
from portal.earlyaccess.models import Registration, RetentionRun, Status
from portal.earlyaccess.retention import SCHEDULE_NAME, schedule_retention
from portal.earlyaccess.tasks import retention
from portal.earlyaccess.triage import registration_decide
from tests.factories import UserFactory
from tests.test_earlyaccess import (
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
    register,
    registered_and_confirmed,
    send_fixture,  # noqa: F401  (the `send` fixture)
)


def days_ago(n: float) -> Any:
    return time_machine.travel(timezone.now() - timedelta(days=n), tick=False)


@pytest.mark.django_db
def test_retention_deletes_unconfirmed_and_erases_rejected_registrations(send) -> None:
    staff = UserFactory(is_staff=True)
    with days_ago(31):
        register(send, work_email="old.unconfirmed@x.example")
    with days_ago(29):
        register(send, work_email="recent.unconfirmed@x.example")
    with days_ago(200):
        old = registered_and_confirmed(send, work_email="old.rejected@x.example", country="PT")
        registration_decide(registration_id=old.pk, status=Status.REJECTED, actor=staff)
    with days_ago(170):
        recent = registered_and_confirmed(send, work_email="recent.rejected@x.example")
        registration_decide(registration_id=recent.pk, status=Status.REJECTED, actor=staff)
    with days_ago(400):
        kept = registered_and_confirmed(send, work_email="old.but.approved@x.example")
    with days_ago(40):  # a confirmed registrant's new details, never confirmed
        register(send, work_email="old.but.approved@x.example", organization_name="Unconfirmed")

    result = retention()

    emails = set(Registration.objects.values_list("work_email", flat=True))
    assert emails == {
        "recent.unconfirmed@x.example",
        "recent.rejected@x.example",
        "old.but.approved@x.example",
        None,
    }
    old.refresh_from_db()
    assert old.status == Status.DELETED and old.erasure_reason == "retention"
    assert old.country == "PT" and old.contact_name == ""
    kept.refresh_from_db()
    assert kept.pending_changes is None and kept.organization_name == "Contoso"
    assert result["unconfirmed_deleted"] == 1
    assert result["rejected_erased"] == 1
    assert result["pending_discarded"] == 1

    run = RetentionRun.objects.get()
    assert (run.unconfirmed_days, run.rejected_days) == (30, 180)
    assert (run.unconfirmed_deleted, run.rejected_erased, run.pending_discarded) == (1, 1, 1)
    event = AuditEvent.objects.get(action="earlyaccess.retention")
    assert event.data["erased_rejected_ids"] == [old.pk]
    assert len(event.data["deleted_unconfirmed_ids"]) == 1
    assert "x.example" not in str(event.data)

    # Idempotent: a second run finds nothing more, and says so.
    again = retention()
    assert (again["unconfirmed_deleted"], again["rejected_erased"]) == (0, 0)
    assert RetentionRun.objects.count() == 2


@pytest.mark.django_db
def test_retention_periods_are_settings(settings, send) -> None:
    settings.EARLY_ACCESS_UNCONFIRMED_DAYS = 3
    settings.EARLY_ACCESS_REJECTED_DAYS = 10
    staff = UserFactory(is_staff=True)
    with days_ago(4):
        register(send, work_email="a@x.example")
    with days_ago(11):
        b = registered_and_confirmed(send, work_email="b@x.example")
        registration_decide(registration_id=b.pk, status=Status.REJECTED, actor=staff)
    mail.outbox.clear()

    result = retention()

    assert (result["unconfirmed_deleted"], result["rejected_erased"]) == (1, 1)
    assert RetentionRun.objects.get().unconfirmed_days == 3
    assert mail.outbox == []  # erasure by retention writes to nobody


@pytest.mark.django_db
def test_retention_runs_daily_from_beat() -> None:
    schedule_retention()
    schedule_retention()
    task = PeriodicTask.objects.get(name=SCHEDULE_NAME)
    assert task.task == "portal.earlyaccess.retention"
    assert task.crontab is not None and task.crontab.hour == "4"
    assert task.enabled and task.expire_seconds
