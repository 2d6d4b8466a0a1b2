"""Celery tasks for early access: thin wrappers that take ids and call one service each."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from portal.earlyaccess.emails import registration_email_send
from portal.earlyaccess.retention import retention_apply

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    name="portal.earlyaccess.email",
    acks_late=True,
    autoretry_for=(*TRANSIENT, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def registration_email(registration_id: int, kind: str) -> str:
    """Send one early-access email (see emails.py); "gone" if there is nobody to write to."""
    return registration_email_send(registration_id=registration_id, kind=kind)


@shared_task(
    name="portal.earlyaccess.retention", acks_late=True, soft_time_limit=5 * 60, time_limit=6 * 60
)
def retention() -> dict[str, int]:
    """Apply the retention periods (idempotent) and report what was done."""
    run = retention_apply()
    return {
        "run_id": run.pk,
        "unconfirmed_deleted": run.unconfirmed_deleted,
        "rejected_erased": run.rejected_erased,
        "pending_discarded": run.pending_discarded,
    }
