"""SLA profiles through the API: listed with their digests, assigned to a fleet with the change
recorded and audited, and exposures recomputed under the new policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from evidence.models import SlaProfileChange
from portal.accounts.models import AuditEvent, Membership, Role
from portal.accounts.tokens import api_token_create
from tests.factories import FleetFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_profiles_are_listed_with_tiers_sources_and_digests() -> None:
    fleet = FleetFactory.create()
    _, secret = api_token_create(organization=fleet.organization, name="t")
    response = bearer(secret).get("/api/v1/sla-profiles/")
    assert response.status_code == 200
    profiles = {p["slug"]: p for p in response.json()}
    assert {"balanced", "pci-dss-4-6.3.3", "fedramp-rev5-ra-5d", "uk-cyber-essentials"} <= set(
        profiles
    )
    assert len(profiles["balanced"]["digest"]) == 64
    assert profiles["balanced"]["tiers"]


def test_assigning_a_profile_is_recorded_audited_and_recomputed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    fleet = FleetFactory.create()
    _, secret = api_token_create(organization=fleet.organization, name="ops")
    client = bearer(secret)
    url = f"/api/v1/fleets/{fleet.slug}/sla-profile/"
    assert client.get(url).json() == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            url, {"profile": "fedramp-rev5-ra-5d", "reason": "FedRAMP Moderate ATO"}
        )
    assert response.status_code == 200, response.content
    [change] = response.json()
    assert change["profile"] == "fedramp-rev5-ra-5d" and change["previous"] == "balanced"
    assert len(change["profile_digest"]) == 64 and len(change["previous_digest"]) == 64
    assert change["reason"] == "FedRAMP Moderate ATO"
    assert len(callbacks) == 1  # the recompute task
    fleet.refresh_from_db()
    assert fleet.sla_profile == "fedramp-rev5-ra-5d"
    assert AuditEvent.objects.filter(action="fleet.sla_profile_changed").count() == 1
    # The same profile again changes nothing; an unknown one is refused, naming it.
    client.post(url, {"profile": "fedramp-rev5-ra-5d"})
    assert SlaProfileChange.objects.filter(fleet=fleet).count() == 1
    bad = client.post(url, {"profile": "whatever"})
    assert bad.status_code == 400 and "whatever" in str(bad.json()["profile"])


def test_viewers_cannot_assign_profiles() -> None:
    membership = MembershipFactory.create(role=Role.VIEWER)
    fleet = FleetFactory.create(organization=membership.organization)
    client = Client()
    client.force_login(membership.user)
    response = client.post(f"/api/v1/fleets/{fleet.slug}/sla-profile/", {"profile": "balanced"})
    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not SlaProfileChange.objects.exists()
