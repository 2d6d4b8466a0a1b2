"""The public Azure Linux 4 early-access form (issue 8 completes it)."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.earlyaccess.models import Registration

FORM = {
    "organization_name": "Contoso",
    "contact_name": "Ana Ruiz",
    "work_email": "Ana.Ruiz@contoso.example",
    "fleet_size": "50-499",
    "current_distribution": "cbl-mariner-2",
    "consent": "on",
}


@pytest.mark.django_db
def test_registration_is_stored_with_consent_version(settings) -> None:
    client = Client()
    page = client.get("/early-access/")
    assert page.status_code == 200
    assert b"Privacy notice" in page.content

    response = client.post("/early-access/", FORM, follow=True)

    assert response.redirect_chain[-1][0] == "/early-access/thanks/"
    registration = Registration.objects.get()
    assert registration.work_email == "ana.ruiz@contoso.example"
    assert registration.consent_notice_version == settings.PRIVACY_NOTICE_VERSION
    assert registration.consented_at is not None


@pytest.mark.django_db
def test_registering_again_updates_without_revealing_it() -> None:
    client = Client()
    first = client.post("/early-access/", FORM)
    second = client.post("/early-access/", {**FORM, "fleet_size": "5000+"})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Registration.objects.count() == 1
    assert Registration.objects.get().fleet_size == "5000+"


@pytest.mark.django_db
def test_consent_is_required() -> None:
    response = Client().post("/early-access/", {**FORM, "consent": ""})
    assert response.status_code == 400
    assert b"only register you with your consent" in response.content
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_overlong_and_invalid_fields_are_refused_clearly() -> None:
    data = {**FORM, "organization_name": "x" * 500, "work_email": "not-an-email"}
    response = Client().post("/early-access/", data)
    assert response.status_code == 400
    assert b"Ensure this value has at most 200 characters" in response.content
    assert b"Enter a valid email address" in response.content
    assert not Registration.objects.exists()
