"""The public early-access pages: register, confirm, your data, erasure, invitations.

Links from emails carry their token in the query string (`?t=`); a GET only shows a page and a
button, the change happens on POST, so mail scanners that open links change nothing. Pages
reached through a token are never cached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.earlyaccess import links
from portal.earlyaccess.forms import DataLinkForm, RegistrationForm
from portal.earlyaccess.invitations import invitation_accept, invitation_user
from portal.earlyaccess.notice import notice_exists, notice_template
from portal.earlyaccess.ratelimit import client_address, rate_limit_consume
from portal.earlyaccess.selectors import registration_for_link
from portal.earlyaccess.services import (
    data_link_request,
    erasure_request,
    registration_confirm,
    registration_data_export,
    registration_erase,
    registration_submit,
)

logger = logging.getLogger(__name__)

BLOCKED = {
    "too_many": (
        429,
        "Too many attempts",
        "We have received several submissions from your network or for this address in a "
        "short time, so we are not accepting more for now. Please try again in an hour; "
        "anything you already sent is safe with us.",
    ),
    "automated": (
        400,
        "We could not accept this submission",
        "It looked automated: a field that people do not see was filled in. If you are a "
        "person (perhaps your browser filled it in for you), please go back, make sure the "
        "field “Leave this field empty” is empty, and send the form again.",
    ),
    "too_large": (
        413,
        "That submission was too large",
        "The form we received was larger than any honest registration. Please shorten what "
        "you entered and send it again.",
    ),
}


def _blocked(request: HttpRequest, reason: str) -> HttpResponse:
    # The reason only: client addresses and emails are personal data and stay out of logs.
    logger.info("early-access request refused: %s", reason)
    status, title, message = BLOCKED[reason]
    context = {"title": title, "message": message}
    return render(request, "earlyaccess/blocked.html", context, status=status)


def _too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.EARLY_ACCESS_MAX_BODY_BYTES


def _private(response: HttpResponse) -> HttpResponse:
    """Pages opened through a personal link are never cached. (Their URL is sent on as a
    referrer to this site only: SECURE_REFERRER_POLICY is same-origin. "no-referrer" would
    make browsers send `Origin: null` with the page's forms, which CSRF checks refuse.)"""
    response["Cache-Control"] = "no-store, private"
    return response


def _link_invalid(request: HttpRequest, error: links.LinkInvalid) -> HttpResponse:
    return _private(
        render(request, "earlyaccess/link_invalid.html", {"expired": error.expired}, status=400)
    )


def _token(request: HttpRequest) -> str:
    return str(request.POST.get("t") or request.GET.get("t") or "")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """The programme and the form. Every valid submission answers with the same redirect."""
    if request.method == "POST":
        if _too_large(request):
            return _blocked(request, "too_large")
        per_client = settings.EARLY_ACCESS_RATE_PER_CLIENT
        if not rate_limit_consume(scope="client", value=client_address(request), limit=per_client):
            return _blocked(request, "too_many")
        form = RegistrationForm(request.POST)
        if form.looks_automated:
            return _blocked(request, "automated")
        if form.is_valid():
            data = form.registration_data()
            per_email = settings.EARLY_ACCESS_RATE_PER_EMAIL
            email = data["work_email"].strip().lower()
            if not rate_limit_consume(scope="email", value=email, limit=per_email):
                return _blocked(request, "too_many")
            registration_submit(data=data)
            return redirect("earlyaccess:thanks")
    else:
        form = RegistrationForm()
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "notice_version": settings.PRIVACY_NOTICE_VERSION,
        "confirm_hours": settings.EARLY_ACCESS_CONFIRM_HOURS,
    }
    return render(request, "earlyaccess/register.html", context, status=status)


@require_GET
def thanks(request: HttpRequest) -> HttpResponse:
    context = {"confirm_hours": settings.EARLY_ACCESS_CONFIRM_HOURS}
    return render(request, "earlyaccess/thanks.html", context)


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    """The privacy notice: the current version, or `?version=` any published one (consent
    records name theirs)."""
    current = settings.PRIVACY_NOTICE_VERSION
    version = request.GET.get("version", current)
    if not notice_exists(version):
        raise Http404("No privacy notice has that version.")
    context = {"version": version, "current": current, "notice": notice_template(version)}
    return render(request, "earlyaccess/privacy.html", context)


def _with_link(
    purpose: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[[HttpRequest], HttpResponse]]:
    """Read and check the request's `t` token for `purpose`, then call the view with its
    payload; an invalid or expired link gets one explanatory page."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
        def wrapped(request: HttpRequest) -> HttpResponse:
            try:
                payload = links.link_read(purpose=purpose, token=_token(request))
                response = view(request, payload)
            except links.LinkInvalid as error:
                return _link_invalid(request, error)
            return _private(response)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return never_cache(wrapped)

    return decorate


@require_http_methods(["GET", "POST"])
@_with_link(links.CONFIRM)
def confirm(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    """Double opt-in: the link shows a button; pressing it confirms the address."""
    if request.method == "POST":
        registration_confirm(
            registration_id=int(payload.get("r", 0)), nonce=str(payload.get("n", ""))
        )
        return redirect("earlyaccess:confirmed")
    return render(request, "earlyaccess/confirm.html", {"token": _token(request)})


@require_GET
def confirmed(request: HttpRequest) -> HttpResponse:
    return render(request, "earlyaccess/confirmed.html")


@never_cache
@require_http_methods(["GET", "POST"])
def data(request: HttpRequest) -> HttpResponse:
    """With a data link: download or erase. Without: ask for a data link by email (the answer
    is the same whether or not the address is registered)."""
    if _token(request):
        return _data_with_link(request)
    if request.method == "POST":
        if _too_large(request):
            return _blocked(request, "too_large")
        per_client = settings.EARLY_ACCESS_RATE_PER_CLIENT
        if not rate_limit_consume(scope="client", value=client_address(request), limit=per_client):
            return _blocked(request, "too_many")
        form = DataLinkForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["work_email"].strip().lower()
            per_email = settings.EARLY_ACCESS_RATE_PER_EMAIL
            if not rate_limit_consume(scope="email", value=email, limit=per_email):
                return _blocked(request, "too_many")
            data_link_request(email=email)
            return redirect("earlyaccess:link-sent")
        return render(request, "earlyaccess/data_request.html", {"form": form}, status=400)
    return render(request, "earlyaccess/data_request.html", {"form": DataLinkForm()})


@_with_link(links.DATA)
def _data_with_link(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    registration_for_link(registration_id=int(payload.get("r", 0)))
    return render(request, "earlyaccess/data.html", {"token": _token(request)})


@require_GET
def link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "earlyaccess/link_sent.html")


@require_POST
@_with_link(links.DATA)
def data_export(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    """The registrant's data as a JSON download."""
    exported = registration_data_export(registration_id=int(payload.get("r", 0)))
    body = json.dumps(exported, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="early-access-registration.json"'
    return response


@require_POST
@_with_link(links.DATA)
def erase_request(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    """Ask for erasure: sends the confirmation link to the registered address."""
    erasure_request(registration_id=int(payload.get("r", 0)))
    context = {"confirm_hours": settings.EARLY_ACCESS_CONFIRM_HOURS}
    return render(request, "earlyaccess/erase_requested.html", context)


@require_http_methods(["GET", "POST"])
@_with_link(links.ERASE)
def erase_confirm(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    """The link from the erasure email: a last button, then the erasure."""
    registration = registration_for_link(registration_id=int(payload.get("r", 0)))
    if request.method == "POST":
        registration_erase(registration_id=registration.pk)
        return render(request, "earlyaccess/erased.html")
    return render(request, "earlyaccess/erase_confirm.html", {"token": _token(request)})


@require_http_methods(["GET", "POST"])
@_with_link(links.INVITATION)
def invitation(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    """Accept an invitation: choose a password, then sign in with it."""
    user = invitation_user(payload=payload)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        invitation_accept(user=user, password=form.cleaned_data["new_password1"])
        messages.success(request, "Your password is set. Sign in with your work email.")
        return redirect("login")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "token": _token(request), "username": user.get_username()}
    return render(request, "earlyaccess/invitation.html", context, status=status)
