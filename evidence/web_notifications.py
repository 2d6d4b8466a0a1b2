"""The Notifications page: each member chooses which notifications they get by email; officers
and owners set the organisation's signed webhook; everyone sees what was sent and how its
delivery went."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evidence.models import (
    EMAIL_BY_DEFAULT,
    Notification,
    NotificationKind,
    NotificationPreference,
    WebhookEndpoint,
)
from evidence.notifications.preferences import notification_preference_set
from evidence.notifications.webhook import WebhookRefused, webhook_endpoint_create
from portal.accounts.access import AUDITOR, Access
from portal.accounts.audit import audit_record
from portal.accounts.decorators import org_view


def _page(request: HttpRequest, access: Access, **extra: object) -> HttpResponse:
    mine = dict(
        NotificationPreference.objects.filter(
            user=access.user, organization=access.organization
        ).values_list("kind", "email")
    )
    default = access.role in EMAIL_BY_DEFAULT
    webhook = extra.pop("webhook", None)
    if not isinstance(webhook, WebhookEndpoint):
        webhook = WebhookEndpoint.objects.filter(organization=access.organization).first()
    context = {
        "access": access,
        "is_member": access.role != AUDITOR,
        "kinds": [
            {"value": value, "label": label, "email": mine.get(value, default)}
            for value, label in NotificationKind.choices
        ],
        "webhook": webhook,
        "webhook_url": extra.pop("webhook_url", None) or (webhook.url if webhook else ""),
        "sent": Notification.objects.filter(organization=access.organization)[:30],
        **extra,
    }
    return render(request, "evidence/notifications.html", context)


@org_view(own_settings=True)
def notification_settings(request: HttpRequest, access: Access) -> HttpResponse:
    """GET the page; POST the member's own email choices (one checkbox per kind)."""
    if request.method == "POST":
        chosen = set(request.POST.getlist("email"))
        for kind in NotificationKind.values:
            notification_preference_set(
                user=request.user,
                organization=access.organization,
                kind=kind,
                email=kind in chosen,
            )
        messages.success(request, "Your email choices are saved.")
        return redirect("evidence:notifications", org=access.organization.slug)
    return _page(request, access)


@org_view(write=True)
@require_POST
def webhook_settings(request: HttpRequest, access: Access) -> HttpResponse:
    """Set (and re-key) the webhook, or turn it off. The new secret is shown once, on the
    answer to this POST, never again."""
    if request.POST.get("action") == "disable":
        updated = WebhookEndpoint.objects.filter(
            organization=access.organization, enabled=True
        ).update(enabled=False)
        if updated:
            audit_record(
                action="webhook.disabled",
                actor=request.user,
                organization=access.organization,
                data={},
            )
        messages.success(request, "The webhook is off: notifications go by email only.")
        return redirect("evidence:notifications", org=access.organization.slug)
    url = request.POST.get("url", "").strip()
    if len(url) > 1000:
        return _page(request, access, webhook_error="The URL is longer than 1,000 characters.")
    try:
        endpoint, secret = webhook_endpoint_create(
            organization=access.organization, url=url, actor=request.user
        )
    except WebhookRefused as exc:
        return _page(request, access, webhook_error=str(exc), webhook_url=url)
    return _page(request, access, new_secret=secret, webhook=endpoint)
