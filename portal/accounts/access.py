"""Who may see what: every tenant-scoped view and API endpoint starts here.

An `Access` names one organisation, the caller's role in it and, for fleet-scoped auditors
and tokens, the one fleet they are limited to. Callers who may not see an organisation get
`Http404`, never a hint that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import WRITER_ROLES, ApiToken, AuditorGrant, Membership, Organization

AUDITOR = "auditor"
TOKEN = "token"  # noqa: S105 - a role name, not a secret


@dataclass(frozen=True)
class Access:
    organization: Organization
    role: str
    fleet_id: int | None = None
    user: Any = None
    token: ApiToken | None = None

    @property
    def can_write(self) -> bool:
        """Owners, officers and API tokens may change data; viewers and auditors read."""
        return self.role in WRITER_ROLES or self.role == TOKEN

    @property
    def is_fleet_scoped(self) -> bool:
        return self.fleet_id is not None


def _is_person(user: Any) -> bool:
    """A signed-in user account (not anonymous, not an API token's stand-in user)."""
    return bool(user is not None and user.is_authenticated and getattr(user, "pk", None))


def live_grants(user: Any) -> Any:
    """The auditor grants of `user` that are in force now."""
    return AuditorGrant.objects.filter(
        auditor=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def access_for_user(*, user: Any, org_slug: str) -> Access:
    """The user's access to the organisation `org_slug`; `Http404` if they have none."""
    if not _is_person(user):
        raise Http404
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=org_slug)
        .first()
    )
    if membership is not None:
        return Access(organization=membership.organization, role=membership.role, user=user)
    grant = (
        live_grants(user)
        .select_related("organization")
        .filter(organization__slug=org_slug)
        .order_by("fleet_id")  # a whole-organisation grant (NULL fleet) wins where both exist
        .first()
    )
    if grant is not None:
        return Access(
            organization=grant.organization, role=AUDITOR, fleet_id=grant.fleet_id, user=user
        )
    raise Http404


def access_for_token(*, token: ApiToken) -> Access:
    return Access(organization=token.organization, role=TOKEN, fleet_id=token.fleet_id, token=token)


def organizations_for_user(*, user: Any) -> list[tuple[Organization, str]]:
    """Every organisation the user can open, with their role there, by name."""
    if not _is_person(user):
        return []
    roles: dict[int, str] = {
        m.organization_id: m.role for m in Membership.objects.filter(user=user)
    }
    for grant in live_grants(user):
        roles.setdefault(grant.organization_id, AUDITOR)
    orgs = Organization.objects.filter(Q(pk__in=roles.keys())).order_by("name")
    return [(org, roles[org.pk]) for org in orgs]
