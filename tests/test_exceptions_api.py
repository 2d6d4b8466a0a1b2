"""Risk exceptions through the API: a person requests, a different person approves, the
exposure reads `excepted` while it is in force; tokens cannot approve."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from evidence.models import Advisory, Exposure, PackageInterval
from portal.accounts.models import Role
from portal.accounts.tokens import api_token_create
from tests.factories import FleetFactory, HostFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def make_exposure() -> Exposure:
    from evidence.ingest import sbom_ingest, sbom_receive
    from tests.test_matching import cyclonedx

    fleet = FleetFactory.create(distribution="fedora-40")
    host = HostFactory.create(fleet=fleet)
    data = cyclonedx(timezone.now() - timedelta(days=60), {"openssl": "1:3.2.1-2.fc40"})
    document = sbom_receive(
        organization=fleet.organization, data=data, size=len(data), host=host, dispatch=False
    )
    sbom_ingest(document_id=document.pk)
    interval = PackageInterval.objects.select_related("package").get(host=host)
    advisory = Advisory.objects.create(
        source="fedora-updateinfo", external_id="FEDORA-2026-x", digest="x"
    )
    return Exposure.objects.create(
        organization=fleet.organization,
        fleet=fleet,
        host=host,
        advisory=advisory,
        package=interval.package,
        package_type="rpm",
        package_distro="fedora-40",
        package_name="openssl",
        window_start=interval.present_from,
        due_at=timezone.now() - timedelta(days=1),
    )


def test_request_approve_by_someone_else_and_status_follows() -> None:
    exposure = make_exposure()
    officer = MembershipFactory.create(organization=exposure.organization, role=Role.OFFICER)
    owner = MembershipFactory.create(organization=exposure.organization, role=Role.OWNER)
    requester, approver = Client(), Client()
    requester.force_login(officer.user)
    approver.force_login(owner.user)
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    created = requester.post(
        "/api/v1/exceptions/",
        {"exposure": exposure.pk, "justification": "isolated VLAN", "expires_at": expires},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "requested" and body["requested_by"] == officer.user.username
    url = f"/api/v1/exceptions/{body['id']}/approve/"
    own = requester.post(url)
    assert own.status_code == 400 and "cannot approve" in own.content.decode()
    _, secret = api_token_create(organization=exposure.organization, name="bot")
    bot = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(url)
    assert bot.status_code == 400 and "person" in bot.content.decode()
    approved = approver.post(url)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    listed = approver.get("/api/v1/exposures/?status=excepted")
    assert [e["id"] for e in listed.json()["results"]] == [exposure.pk]
    revoked = approver.post(f"/api/v1/exceptions/{body['id']}/revoke/")
    assert revoked.json()["state"] == "revoked"
    assert approver.get("/api/v1/exposures/?status=overdue").json()["count"] == 1


def test_expiry_beyond_90_days_is_refused_with_the_reason() -> None:
    exposure = make_exposure()
    officer = MembershipFactory.create(organization=exposure.organization, role=Role.OFFICER)
    client = Client()
    client.force_login(officer.user)
    response = client.post(
        "/api/v1/exceptions/",
        {
            "exposure": exposure.pk,
            "justification": "later",
            "expires_at": (timezone.now() + timedelta(days=120)).isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and "90 days" in response.content.decode()
