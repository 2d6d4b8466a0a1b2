"""The API tokens page: an officer creates a token that expires, sees it once, uses it, revokes
it; a viewer cannot create one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import ApiToken, Role
from tests.factories import FleetFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_create_use_and_revoke_a_token_from_the_page() -> None:
    fleet = FleetFactory.create()
    org = fleet.organization
    officer = Client()
    officer.force_login(MembershipFactory.create(organization=org, role=Role.OFFICER).user)
    url = f"/o/{org.slug}/tokens/"
    page = officer.post(url, {"name": "agent on web-01", "fleet": fleet.pk, "expires_in_days": 30})
    assert page.status_code == 200
    secret = re.search(r'<code class="secret">([^<]+)</code>', page.content.decode())
    assert secret, "the new token is shown once"
    token = ApiToken.objects.get(name="agent on web-01")
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert f"{token.expires_at:%Y-%m-%d}" in page.content.decode()
    assert secret.group(1) not in officer.get(url).content.decode()  # never again

    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret.group(1)}")
    assert api.get("/api/v1/fleets/").status_code == 200
    officer.post(f"/o/{org.slug}/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/fleets/").status_code == 401


def test_a_viewer_cannot_create_tokens() -> None:
    fleet = FleetFactory.create()
    viewer = Client()
    viewer.force_login(
        MembershipFactory.create(organization=fleet.organization, role=Role.VIEWER).user
    )
    url = f"/o/{fleet.organization.slug}/tokens/"
    assert viewer.post(url, {"name": "x", "expires_in_days": 30}).status_code == 403
    assert not ApiToken.objects.exists()
