"""What the public side of early access writes: registering, confirming, erasing.

Every function here answers the same way whether or not an address was registered before, and
sends mail only to the address concerned, so a visitor can learn nothing about anyone else.
Emails go out from a worker after the transaction commits (see `emails.email_queue`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.accounts.audit import audit_record
from portal.earlyaccess.emails import email_queue
from portal.earlyaccess.links import LinkInvalid
from portal.earlyaccess.models import ErasureReason, Registration, Status
from portal.earlyaccess.selectors import registration_export, registration_for_link

# What the registrant tells us (besides the address and consent), as the form cleans it.
DETAIL_FIELDS = (
    "organization_name",
    "contact_name",
    "country",
    "fleet_size",
    "current_distribution",
    "azure_regions",
    "workloads",
    "workloads_other",
    "wants_migration_tooling",
)
REGISTRANT = "registrant"  # the audit log's actor label for the registrant: never the address


def email_normalize(email: str) -> str:
    return email.strip().lower()


def registration_submit(*, data: dict[str, Any]) -> Registration:
    """Record a submission for `data['work_email']` (case-insensitive) and queue a fresh
    confirmation link to that address.

    A new address gets a new, unconfirmed registration. An unconfirmed one is overwritten. A
    confirmed one keeps its details until the address confirms the new ones (held in
    `pending_changes`), so a stranger cannot rewrite it. Either way the caller sees the same
    result and the address receives the same kind of email. Locks the registration's row."""
    now = timezone.now()
    email = email_normalize(data["work_email"])
    details = {name: data.get(name) for name in DETAIL_FIELDS}
    details["workloads_other"] = details["workloads_other"] or ""
    details["azure_regions"] = list(details["azure_regions"] or [])
    details["workloads"] = list(details["workloads"] or [])
    details["wants_migration_tooling"] = bool(details["wants_migration_tooling"])
    consent = {
        "consent_notice_version": settings.PRIVACY_NOTICE_VERSION,
        "consented_at": now,
    }
    nonce = secrets.token_hex(16)
    with transaction.atomic():
        registration, created = Registration.objects.select_for_update().get_or_create(
            work_email=email,
            defaults={**details, **consent, "confirm_nonce": nonce, "created_at": now},
        )
        if not created:
            registration.confirm_nonce = nonce
            if registration.is_confirmed:
                registration.pending_changes = {
                    **details,
                    "consent_notice_version": consent["consent_notice_version"],
                    "consented_at": now.isoformat(),
                }
                registration.pending_since = now
            else:
                for name, value in {**details, **consent}.items():
                    setattr(registration, name, value)
        registration.updated_at = now
        registration.save()
        audit_record(
            action="earlyaccess.submitted",
            actor_label=REGISTRANT,
            target=registration,
            data={"new": created},
        )
        email_queue(registration_id=registration.pk, kind="confirm")
    return registration


def registration_confirm(*, registration_id: int, nonce: str) -> Registration:
    """Confirm the address of a registration (double opt-in) and apply any details waiting for
    confirmation; a rejected registration confirmed anew is a new lead again. Idempotent:
    confirming again changes nothing. `LinkInvalid` when the link is not the latest one sent or
    the registration is gone."""
    now = timezone.now()
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update()
            .exclude(status=Status.DELETED)
            .filter(pk=registration_id)
            .first()
        )
        if registration is None or not secrets.compare_digest(registration.confirm_nonce, nonce):
            raise LinkInvalid(expired=False)
        changed: list[str] = []
        if registration.pending_changes:
            pending = dict(registration.pending_changes)
            consented_at = parse_datetime(str(pending.pop("consented_at", "")))
            for name in (*DETAIL_FIELDS, "consent_notice_version"):
                if name in pending:
                    setattr(registration, name, pending[name])
            if isinstance(consented_at, datetime):
                registration.consented_at = consented_at
            registration.pending_changes = None
            registration.pending_since = None
            changed.append("details")
            if registration.status == Status.REJECTED:
                # The rejection email invites a new registration for a later round: this is it.
                registration.status = Status.NEW
                changed.append("reopened")
        if registration.confirmed_at is None:
            registration.confirmed_at = now
            registration.status = Status.NEW
            changed.append("address")
        if changed:
            registration.save()
            audit_record(
                action="earlyaccess.confirmed",
                actor_label=REGISTRANT,
                target=registration,
                data={"confirmed": changed},
            )
    return registration


def data_link_request(*, email: str) -> None:
    """Email a link to "your data" to `email` if it has a registration; nothing otherwise.
    The caller cannot tell which happened."""
    registration = (
        Registration.objects.filter(work_email=email_normalize(email))
        .exclude(status=Status.DELETED)
        .only("pk")
        .first()
    )
    if registration is not None:
        with transaction.atomic():
            email_queue(registration_id=registration.pk, kind="data_link")


def registration_data_export(*, registration_id: int) -> dict[str, Any]:
    """Everything held about the registration a data link names, for its registrant; the
    download is recorded (by registration id), so a leaked link's use can be traced."""
    registration = registration_for_link(registration_id=registration_id)
    with transaction.atomic():
        audit_record(action="earlyaccess.exported", actor_label=REGISTRANT, target=registration)
    return registration_export(registration)


def erasure_request(*, registration_id: int) -> None:
    """Email the registrant a link that confirms erasure (the second factor: their inbox)."""
    registration = registration_for_link(registration_id=registration_id)
    with transaction.atomic():
        audit_record(
            action="earlyaccess.erasure_requested", actor_label=REGISTRANT, target=registration
        )
        email_queue(registration_id=registration.pk, kind="erase_confirm")


def registration_erase(
    *, registration_id: int, reason: str = ErasureReason.REQUEST, actor: Any = None
) -> Registration:
    """Remove every personal detail of a registration and keep an anonymised row (status
    `deleted`; country, fleet size, distribution and dates stay, for counting).

    Idempotent: erasing an erased registration changes nothing. The portal account and
    organisation an approval created are not touched: they belong to the portal now."""
    now = timezone.now()
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration_id)
        if registration.status == Status.DELETED:
            return registration
        previous = registration.status
        registration.status = Status.DELETED
        registration.organization_name = ""
        registration.contact_name = ""
        registration.work_email = None
        registration.azure_regions = []
        registration.workloads = []
        registration.workloads_other = ""
        registration.pending_changes = None
        registration.pending_since = None
        registration.confirm_nonce = ""
        registration.organization = None
        registration.portal_user = None
        registration.erased_at = now
        registration.erasure_reason = reason
        registration.save()
        audit_record(
            action="earlyaccess.erased",
            actor=actor,
            actor_label="" if actor else (REGISTRANT if reason == ErasureReason.REQUEST else ""),
            target=registration,
            data={"reason": str(reason), "previous_status": previous},
        )
    return registration
