"""Per-user notification preferences: who gets which kind of notification by email.

The rule: an explicit NotificationPreference row decides; without one, owners and officers get
email (EMAIL_BY_DEFAULT) and viewers do not. Auditors hold grants, not memberships, and are never
notified: a grant may cover one fleet, and notifications speak for the whole organisation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery

from evidence.models import EMAIL_BY_DEFAULT, NotificationKind, NotificationPreference
from portal.accounts.models import Membership, Organization


def notification_recipients(*, organization_id: int, kind: str) -> list[str]:
    """Email addresses of the organisation's active members who want `kind` by email.

    Sorted and unique; members without an address are left out. One query.
    """
    preference = NotificationPreference.objects.filter(
        user=OuterRef("user"), organization_id=organization_id, kind=kind
    ).values("email")[:1]
    members = (
        Membership.objects.filter(organization_id=organization_id, user__is_active=True)
        .exclude(user__email="")
        .annotate(wants=Subquery(preference))
        .values_list("user__email", "role", "wants")
    )
    return sorted(
        {
            email
            for email, role, wants in members
            if (wants if wants is not None else role in EMAIL_BY_DEFAULT)
        }
    )


def notification_preference_set(
    *, user: Any, organization: Organization, kind: str, email: bool
) -> NotificationPreference:
    """Record whether `user` wants `kind` by email from `organization` (idempotent).

    Raises ValueError for an unknown kind or when the user is not a member.
    """
    if kind not in NotificationKind.values:
        raise ValueError(
            f"unknown notification kind {kind!r}; expected one of "
            + ", ".join(NotificationKind.values)
        )
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise ValueError(f"{user} is not a member of {organization}")
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, organization=organization, kind=kind, defaults={"email": email}
    )
    return preference
