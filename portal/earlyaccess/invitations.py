"""Invitations to the portal for approved registrants: a set-password link that works once.

The link's token names the user and a fingerprint of their password hash and last login, so
it stops working as soon as a password is set (or the user signs in), besides expiring after
EARLY_ACCESS_INVITATION_DAYS.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.accounts.audit import audit_record
from portal.earlyaccess import links
from portal.earlyaccess.models import Registration


def _state(user: Any) -> str:
    login = user.last_login.replace(microsecond=0, tzinfo=None) if user.last_login else ""
    return salted_hmac(
        "portal.earlyaccess.invitation", f"{user.pk}|{user.password}|{login}"
    ).hexdigest()[:32]


def invitation_url(*, user: Any) -> str:
    return links.link_url(purpose=links.INVITATION, payload={"u": user.pk, "s": _state(user)})


def invitation_user(*, payload: dict[str, Any]) -> Any:
    """The invited user an invitation link's payload names (see `links.link_read`);
    `LinkInvalid` when the link was already used."""
    user_id = payload.get("u")
    if not isinstance(user_id, int):
        raise links.LinkInvalid(expired=False)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(_state(user), str(payload.get("s", ""))):
        raise links.LinkInvalid(expired=False)
    return user


def invitation_accept(*, user: Any, password: str) -> None:
    """Set the invited user's first password (validated by the caller's form); records it."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        registration = (
            Registration.objects.filter(portal_user=user).select_related("organization").first()
        )
        audit_record(
            action="earlyaccess.invitation_accepted",
            actor=user,
            organization=registration.organization if registration else None,
            target=registration,
        )
