"""The Notifications page: members choose their email, officers set the webhook (internal
addresses refused, the secret shown once), viewers change only their own choices, auditors
have none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from evidence.models import NotificationPreference, WebhookEndpoint
from evidence.notifications.preferences import notification_recipients
from portal.accounts.models import AuditorGrant, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_viewer_opts_in_and_an_officer_opts_out_by_checkbox() -> None:
    org = OrganizationFactory.create()
    viewer = MembershipFactory.create(organization=org, role=Role.VIEWER)
    officer = MembershipFactory.create(organization=org, role=Role.OFFICER)
    url = f"/o/{org.slug}/notifications/"
    page = login(viewer.user).get(url).content.decode()
    assert 'value="kev_on_host">' in page and 'value="kev_on_host" checked' not in page
    assert "Officers and owners set the webhook" in page
    assert login(viewer.user).post(url, {"email": ["kev_on_host"]}).status_code == 302
    assert viewer.user.email in notification_recipients(organization_id=org.pk, kind="kev_on_host")
    assert viewer.user.email not in notification_recipients(
        organization_id=org.pk, kind="feed_stale"
    )
    assert 'value="feed_stale" checked' in login(officer.user).get(url).content.decode()
    login(officer.user).post(url, {"email": []})
    assert officer.user.email not in notification_recipients(
        organization_id=org.pk, kind="feed_stale"
    )
    assert NotificationPreference.objects.filter(user=officer.user, email=False).count() == 4
    # a viewer may change their own choices but not the webhook
    assert (
        login(viewer.user)
        .post(f"/o/{org.slug}/notifications/webhook/", {"url": "https://hooks.example.com/x"})
        .status_code
        == 403
    )


def test_officer_sets_a_webhook_sees_the_secret_once_and_internal_urls_are_refused(
    settings: Any,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    org = OrganizationFactory.create()
    officer = login(MembershipFactory.create(organization=org, role=Role.OFFICER).user)
    url = f"/o/{org.slug}/notifications/webhook/"
    refused = officer.post(url, {"url": "http://169.254.169.254/latest/meta-data/"})
    assert refused.status_code == 200
    assert (
        "169.254.169.254" in refused.content.decode() and "link-local" in refused.content.decode()
    )
    assert not WebhookEndpoint.objects.exists()
    assert (
        "only http:// and https://"
        in officer.post(url, {"url": "file:///etc/passwd"}).content.decode()
    )

    settings.WEBHOOK_ALLOW_PRIVATE = True  # a receiver on the internal network, by choice
    created = officer.post(url, {"url": "http://127.0.0.1:9/hook"}).content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in created and "shown this once" in created
    again = officer.get(f"/o/{org.slug}/notifications/").content.decode()
    assert endpoint.secret not in again and "http://127.0.0.1:9/hook" in again
    officer.post(url, {"action": "disable"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled


def test_auditors_have_no_settings() -> None:
    org = OrganizationFactory.create()
    granter = MembershipFactory.create(organization=org, role=Role.OWNER)
    auditor = UserFactory.create()
    AuditorGrant.objects.create(
        auditor=auditor,
        organization=org,
        granted_by=granter.user,
        expires_at=timezone.now() + timedelta(days=5),
    )
    client = login(auditor)
    page = client.get(f"/o/{org.slug}/notifications/").content.decode()
    assert "Auditors are not notified" in page
    assert (
        client.post(f"/o/{org.slug}/notifications/", {"email": ["kev_on_host"]}).status_code == 403
    )
    assert not NotificationPreference.objects.exists()
