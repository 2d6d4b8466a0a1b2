"""The REST API: token authentication, scoping and the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from evidence.models import Fleet, Host
from portal.accounts.models import ApiToken, AuditEvent, Role
from portal.accounts.tokens import api_token_create, api_token_revoke
from tests.factories import FleetFactory, MembershipFactory, OrganizationFactory


def bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.mark.django_db
def test_token_is_stored_hashed_and_use_is_recorded() -> None:
    org = OrganizationFactory.create()
    token, secret = api_token_create(organization=org, name="ci")

    assert secret.startswith("pp_")
    assert secret not in token.key_hash
    assert not ApiToken.objects.filter(key_hash=secret).exists()
    assert token.last_used_at is None
    assert bearer(secret).get("/api/v1/fleets/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert AuditEvent.objects.filter(action="api_token.created", target_id=str(token.pk)).exists()


@pytest.mark.django_db
def test_revoked_expired_and_unknown_tokens_are_refused() -> None:
    org = OrganizationFactory.create()
    revoked, revoked_secret = api_token_create(organization=org, name="old")
    api_token_revoke(token=revoked)
    _, expired_secret = api_token_create(
        organization=org, name="temp", expires_at=timezone.now() - timedelta(minutes=1)
    )
    for secret in [revoked_secret, expired_secret, "pp_not-a-real-token", "garbage"]:
        response = bearer(secret).get("/api/v1/fleets/")
        assert response.status_code == 401, secret
        assert response["WWW-Authenticate"] == "Bearer"
    assert Client().get("/api/v1/fleets/").status_code == 401


@pytest.mark.django_db
def test_organisation_token_creates_fleets_and_hosts() -> None:
    org = OrganizationFactory.create()
    _, secret = api_token_create(organization=org, name="terraform")
    client = bearer(secret)

    created = client.post(
        "/api/v1/fleets/",
        {"slug": "db", "name": "Databases", "distribution": "fedora-40"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["url"].endswith("/api/v1/fleets/db/")
    host = client.post(
        "/api/v1/hosts/", {"fleet": "db", "hostname": "DB-01"}, content_type="application/json"
    )
    assert host.status_code == 201, host.content
    assert Host.objects.get().hostname == "db-01"
    dup = client.post(
        "/api/v1/fleets/",
        {"slug": "db", "name": "Again", "distribution": "fedora-40"},
        content_type="application/json",
    )
    assert dup.status_code == 400
    assert "uses this slug" in dup.json()["slug"][0]


@pytest.mark.django_db
def test_fleet_token_sees_and_acts_on_its_fleet_only() -> None:
    fleet = FleetFactory.create(slug="web")
    FleetFactory.create(organization=fleet.organization, slug="db")
    _, secret = api_token_create(organization=fleet.organization, fleet=fleet, name="agent")
    client = bearer(secret)

    listed = client.get("/api/v1/fleets/").json()
    assert [f["slug"] for f in listed["results"]] == ["web"]
    assert client.get("/api/v1/fleets/db/").status_code == 404
    create = client.post(
        "/api/v1/fleets/",
        {"slug": "new", "name": "New", "distribution": "fedora-40"},
        content_type="application/json",
    )
    assert create.status_code == 403
    host_elsewhere = client.post(
        "/api/v1/hosts/", {"fleet": "db", "hostname": "x"}, content_type="application/json"
    )
    assert host_elsewhere.status_code == 400
    assert Fleet.objects.count() == 2


@pytest.mark.django_db
def test_viewer_session_reads_but_cannot_write() -> None:
    membership = MembershipFactory.create(role=Role.VIEWER)
    FleetFactory.create(organization=membership.organization, slug="web")
    client = Client()
    client.force_login(membership.user)

    assert client.get("/api/v1/fleets/").json()["count"] == 1
    response = client.post(
        "/api/v1/fleets/",
        {"slug": "x", "name": "X", "distribution": "fedora-40"},
        content_type="application/json",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_openapi_schema_describes_bearer_auth_and_upload() -> None:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    upload = schema["paths"]["/api/v1/sboms/"]["post"]
    assert "application/vnd.cyclonedx+json" in upload["requestBody"]["content"]
    assert "202" in upload["responses"]


@pytest.mark.django_db
def test_api_docs_are_served_without_a_cdn() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html
