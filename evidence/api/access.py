"""How an API request reaches an organisation: through its token, or for a signed-in user
through `?org=<slug>` (optional when they belong to exactly one)."""

from __future__ import annotations

from django.http import Http404
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from portal.accounts.access import (
    Access,
    access_for_token,
    access_for_user,
    organizations_for_user,
)
from portal.accounts.models import ApiToken


def api_access(request: Request) -> Access:
    """The caller's `Access`, cached on the request."""
    cached = getattr(request, "_patchproof_access", None)
    if cached is not None:
        return cached
    if isinstance(request.auth, ApiToken):
        access = access_for_token(token=request.auth)
    else:
        slug = request.query_params.get("org")
        if not slug:
            orgs = organizations_for_user(user=request.user)
            if not orgs:
                raise PermissionDenied("You have access to no organisation.")
            if len(orgs) > 1:
                raise ValidationError(
                    {"org": "You belong to several organisations; pass ?org=<slug>."}
                )
            slug = orgs[0][0].slug
        try:
            access = access_for_user(user=request.user, org_slug=slug)
        except Http404:
            raise NotFound(f"No organisation {slug!r} that you can open.") from None
    request._patchproof_access = access  # type: ignore[attr-defined]
    return access


class OrgAccess(BasePermission):
    """Authenticated callers with access to an organisation; writes need a writer role."""

    message = "Your role in this organisation is read-only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        access = api_access(request)
        if request.method in SAFE_METHODS:
            return True
        if not access.can_write:
            raise PermissionDenied(self.message)
        return True
