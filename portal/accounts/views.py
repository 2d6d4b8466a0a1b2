"""The signed-in landing page: which organisations the user can open."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.accounts.access import organizations_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Open the user's organisation directly when there is one; list them when there are more."""
    orgs = organizations_for_user(user=request.user)
    if len(orgs) == 1:
        return redirect("evidence:dashboard", org=orgs[0][0].slug)
    return render(request, "accounts/home.html", {"orgs": orgs})
