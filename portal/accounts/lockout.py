"""Sign-in throttling with django-axes: the backend, the client address and the lockout page.

Settings (AXES_*, LOGIN_*) are in portal/settings.py, "Security (issue 9)". Only sign-ins that
arrive over HTTP are counted: API tokens and sessions never pass through `authenticate`.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend  # type: ignore[import-untyped]
from axes.helpers import get_cool_off  # type: ignore[import-untyped]
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.client_ip import client_ip


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for sign-ins made over HTTP; calls without a request are passed on.

    Without a request there is no client to throttle: such calls come from code (management
    commands, the test client's `login`), never from someone guessing passwords over the web,
    whereas axes' own backend would raise on them."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def login_client_ip(request: HttpRequest) -> str | None:
    """The client's address as our trusted proxies saw it (`portal.client_ip`), or None."""
    address = client_ip(request)
    return str(address) if address is not None else None


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """429 with a page that says why sign-in is refused and when to try again.

    The wait restarts with every attempt made while locked out, so "now + cool-off" is exact."""
    cool_off = get_cool_off(request)
    retry_at = timezone.now() + cool_off if cool_off else None
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "retry_at": retry_at,
        "minutes": minutes,
    }
    response = render(request, "axes/lockout.html", context, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
