"""The emails early access sends, each rendered from `templates/earlyaccess/email/<kind>.txt`.

Emails are queued by id and kind only and rendered by the worker when it sends them, so the
broker never holds an address and every link in a message is freshly signed. Every email ends
with a link to the registrant's data (download or erase), as the privacy notice promises.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from portal.earlyaccess import links
from portal.earlyaccess.models import Registration, Status

SUBJECTS = {
    "confirm": "Confirm your Azure Linux 4 early-access registration",
    "data_link": "Your Azure Linux 4 early-access data",
    "erase_confirm": "Confirm erasing your Azure Linux 4 early-access registration",
    "approved": "You are in: Azure Linux 4 early access",
    "waitlisted": "Azure Linux 4 early access: you are on the waiting list",
    "rejected": "Azure Linux 4 early access: your registration",
    "onboarded": "Welcome aboard: Azure Linux 4 early access",
    "bundle": "Your Azure Linux 4 early-access bundle",
    "invitation": "Your Patchproof organisation is ready",
}
KINDS = frozenset(SUBJECTS)


def email_queue(*, registration_id: int, kind: str) -> None:
    """Send email `kind` to the registration's address once the current transaction commits."""
    from portal.earlyaccess.tasks import registration_email

    if kind not in KINDS:
        raise ValueError(f"unknown early-access email kind {kind!r}")
    transaction.on_commit(partial(registration_email.delay, registration_id, kind))


def _context(registration: Registration, kind: str) -> dict[str, Any]:
    ids = {"r": registration.pk}
    context: dict[str, Any] = {
        "registration": registration,
        "site_url": settings.SITE_URL,
        "data_url": links.link_url(purpose=links.DATA, payload=ids),
        "data_days": settings.EARLY_ACCESS_DATA_LINK_DAYS,
        "privacy_url": f"{settings.SITE_URL}{reverse('earlyaccess:privacy')}",
        "confirm_hours": settings.EARLY_ACCESS_CONFIRM_HOURS,
        "bundle": registration.bundle,
        "bundle_links": list(registration.bundle.links.all()) if registration.bundle else [],
    }
    if kind == "confirm":
        context["confirm_url"] = links.link_url(
            purpose=links.CONFIRM, payload={**ids, "n": registration.confirm_nonce}
        )
        context["pending"] = registration.pending_changes is not None
    elif kind == "erase_confirm":
        context["erase_url"] = links.link_url(purpose=links.ERASE, payload=ids)
    elif kind == "invitation":
        user = registration.portal_user
        context["organization"] = registration.organization
        context["login_url"] = f"{settings.SITE_URL}{reverse('login')}"
        context["invitation_days"] = settings.EARLY_ACCESS_INVITATION_DAYS
        if user is not None and not user.has_usable_password():
            from portal.earlyaccess.invitations import invitation_url

            context["invitation_url"] = invitation_url(user=user)
    return context


def registration_email_send(*, registration_id: int, kind: str) -> str:
    """Render and send one email; returns the kind sent, or "gone" when there is nobody to
    write to any more (erased, or an invitation whose account was removed).

    Not deduplicated: a redelivered task sends the message again, which is harmless for these
    messages and better than one lost."""
    registration = (
        Registration.objects.select_related("bundle", "organization", "portal_user")
        .filter(pk=registration_id)
        .exclude(status=Status.DELETED)
        .first()
    )
    if registration is None or not registration.work_email:
        return "gone"
    if kind == "invitation" and (
        registration.portal_user is None or registration.organization is None
    ):
        return "gone"
    body = render_to_string(f"earlyaccess/email/{kind}.txt", _context(registration, kind))
    EmailMessage(
        subject=SUBJECTS[kind],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[registration.work_email],
    ).send()
    return kind
