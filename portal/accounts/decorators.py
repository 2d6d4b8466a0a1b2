"""`org_view`: the one way a web view reaches an organisation's data."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed

from portal.accounts.access import AUDITOR, access_for_user

SAFE_METHODS = ["GET", "HEAD"]

View = Callable[..., HttpResponseBase]


def org_view(*, write: bool = False, own_settings: bool = False) -> Callable[[View], View]:
    """Resolve `org` from the URL into an `Access` passed as the view's second argument.

    Anonymous users go to the login page; users with no access get 404; users who can see
    the organisation but may not change it get 403 on a `write` view. Views that are not
    `write` views answer GET and HEAD only, except `own_settings` views, where every member
    (viewers too, not auditors) may POST changes to their own settings.
    """

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, org: str, **kwargs: Any) -> HttpResponseBase:
            access = access_for_user(user=request.user, org_slug=org)
            if own_settings and request.method not in SAFE_METHODS:
                # a member changing their own settings: any role but an auditor's grant
                if access.role == AUDITOR:
                    raise PermissionDenied("Auditors have no settings in this organisation.")
                return view(request, access, **kwargs)
            if not write and request.method not in SAFE_METHODS:
                return HttpResponseNotAllowed(SAFE_METHODS)
            if write and not access.can_write:
                raise PermissionDenied("Your role in this organisation is read-only.")
            return view(request, access, **kwargs)

        return wrapper

    return decorate
