"""Security headers (CSP and friends) and sign-in throttling."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from portal.accounts.models import ApiToken
from portal.accounts.tokens import api_token_create
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

LOGIN = "/accounts/login/"


def _directives(header: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


@pytest.mark.django_db
def test_pages_send_a_csp_without_inline_scripts() -> None:
    member = MembershipFactory.create()
    client = Client()
    client.force_login(member.user)
    for url in [LOGIN, f"/o/{member.organization.slug}/", "/early-access/", "/admin/login/"]:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        policy = _directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], url
        assert "'unsafe-inline'" not in policy["style-src"], url
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert "camera=()" in response["Permissions-Policy"]
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_api_docs_load_with_inline_styles_only_there() -> None:
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]
    html = response.content.decode()
    # The start-up script is a separate same-origin request, not an inline block.
    assert "<script>" not in html
    assert 'src="/api/docs/?script="' in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"]:
        assert f"/static/drf_spectacular_sidecar/swagger-ui-dist/{asset}" in html


def _sign_in(client: Client, username: str, password: str) -> int:
    response = client.post(LOGIN, {"username": username, "password": password})
    return response.status_code


@pytest.mark.django_db
def test_repeated_bad_passwords_pause_that_account_from_that_address() -> None:
    alice = UserFactory.create(username="alice@example.test")
    UserFactory.create(username="bob@example.test")
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        assert _sign_in(client, alice.username, "wrong password") == 200
    locked = client.post(LOGIN, {"username": alice.username, "password": "wrong password"})
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Sign-in paused" in text
    assert "15 minutes from now" in text
    assert locked["Retry-After"] == str(15 * 60)
    # The right password is refused too while the pause lasts.
    assert _sign_in(client, alice.username, PASSWORD) == 429
    assert "_auth_user_id" not in client.session
    # Someone else, even from the same address, and Alice from elsewhere, are unaffected.
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.7"), "bob@example.test", PASSWORD) == 302
    assert _sign_in(Client(REMOTE_ADDR="198.51.100.9"), alice.username, PASSWORD) == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert _sign_in(client, alice.username, PASSWORD) == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_earlier_failures() -> None:
    alice = UserFactory.create(username="alice@example.test")
    client = Client()
    for _ in range(4):
        assert _sign_in(client, alice.username, "wrong password") == 200
    assert _sign_in(client, alice.username, PASSWORD) == 302
    client = Client()
    for _ in range(4):
        assert _sign_in(client, alice.username, "wrong password") == 200
    assert _sign_in(client, alice.username, PASSWORD) == 302


@pytest.mark.django_db
def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    """Otherwise a client could name a new address for every guess."""
    alice = UserFactory.create(username="alice@example.test")
    for n in range(5):
        client = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        _sign_in(client, alice.username, "wrong password")
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.7"), alice.username, PASSWORD) == 429


@pytest.mark.django_db
def test_code_that_authenticates_without_a_request_is_not_throttled() -> None:
    alice = UserFactory.create(username="alice@example.test")
    assert Client().login(username=alice.username, password=PASSWORD)


@pytest.mark.django_db
def test_tokens_expire_after_the_default_lifetime_unless_given_a_date(settings) -> None:
    org = OrganizationFactory.create(slug="acme")
    token, secret = api_token_create(organization=org, name="ci")
    assert token.expires_at is not None
    lifetime = token.expires_at - token.created_at
    assert timedelta(days=364) < lifetime <= timedelta(days=365)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/fleets/").status_code == 200
    with time_machine.travel(token.expires_at + timedelta(seconds=1), tick=False):
        assert client.get("/api/v1/fleets/").status_code == 401
    settings.API_TOKEN_LIFETIME_DAYS = 0
    forever, _ = api_token_create(organization=org, name="legacy")
    assert forever.expires_at is None


@pytest.mark.django_db
def test_create_api_token_command_sets_the_expiry() -> None:
    OrganizationFactory.create(slug="acme")
    out = StringIO()
    call_command(
        "create_api_token",
        "--org=acme",
        "--name=agent",
        "--expires-in-days=7",
        "--json",
        stdout=out,
    )
    issued = json.loads(out.getvalue())
    token = ApiToken.objects.get(pk=issued["id"])
    assert token.expires_at is not None
    assert issued["expires_at"] == token.expires_at.isoformat()
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert issued["token"] not in token.key_hash  # stored hashed only
    with pytest.raises(CommandError, match="positive"):
        call_command("create_api_token", "--org=acme", "--name=x", "--expires-in-days=0")
