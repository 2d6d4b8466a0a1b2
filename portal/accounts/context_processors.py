"""Template context: the organisations the signed-in user can switch between."""

from typing import Any

from django.http import HttpRequest

from portal.accounts.access import organizations_for_user


def organizations(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"user_organizations": organizations_for_user(user=user)}
