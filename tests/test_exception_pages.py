"""The Exceptions pages: an officer requests from the exposure's row, the requester cannot
approve, a second person approves, the exposure reads Excepted, ending it counts it again;
viewers see no buttons and cannot post."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from evidence.models import RiskException
from portal.accounts.models import AuditEvent, Role
from tests.factories import MembershipFactory
from tests.test_exceptions_api import make_exposure

pytestmark = pytest.mark.django_db


def client_for(membership: Any) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_request_approve_end_through_the_pages() -> None:
    exposure = make_exposure()
    org = exposure.organization
    officer = client_for(MembershipFactory.create(organization=org, role=Role.OFFICER))
    owner = client_for(MembershipFactory.create(organization=org, role=Role.OWNER))
    base = f"/o/{org.slug}"

    listing = officer.get(f"{base}/exposures/").content.decode()
    link = f"{base}/exceptions/new/?exposure={exposure.pk}"
    assert link in listing
    form = officer.get(link)
    assert form.status_code == 200 and "openssl" in form.content.decode()

    too_long = (timezone.now() + timedelta(days=200)).date().isoformat()
    refused = officer.post(link, {"justification": "VLAN", "expires_on": too_long})
    assert refused.status_code == 400
    assert "at most 90 days" in refused.content.decode()
    empty = officer.post(link, {"justification": " ", "expires_on": "2000-01-01"})
    assert empty.status_code == 400
    assert RiskException.objects.count() == 0

    expires = (timezone.now() + timedelta(days=30)).date().isoformat()
    done = officer.post(
        link,
        {"justification": "isolated VLAN", "compensating_controls": "IDS", "expires_on": expires},
    )
    assert done.status_code == 302
    exception = RiskException.objects.get()
    detail_url = done["Location"]
    assert detail_url == f"{base}/exceptions/{exception.pk}/"

    page = officer.get(detail_url).content.decode()
    assert "awaiting approval" in page and "isolated VLAN" in page
    assert "another officer or owner must approve" in page
    assert ">Approve<" not in page
    own = officer.post(f"{base}/exceptions/{exception.pk}/approve/", follow=True)
    assert "cannot approve" in own.content.decode()
    exception.refresh_from_db()
    assert exception.approved_at is None

    assert ">Approve<" in owner.get(detail_url).content.decode()
    owner.post(f"{base}/exceptions/{exception.pk}/approve/")
    exception.refresh_from_db()
    assert exception.approved_by is not None and exception.state_at() == "approved"
    approved = officer.get(detail_url).content.decode()
    assert "in force" in approved and "Excepted" in approved
    listing = officer.get(f"{base}/exceptions/?state=approved").content.decode()
    assert "openssl on " + exposure.host.hostname in listing
    assert 'In force <span class="muted">(1)' in listing
    status = officer.get(f"{base}/exposures/?status=excepted").content.decode()
    assert exposure.host.hostname in status

    owner.post(f"{base}/exceptions/{exception.pk}/revoke/")
    exception.refresh_from_db()
    assert exception.state_at() == "revoked"
    ended = officer.get(detail_url).content.decode()
    assert "ended early" in ended
    actions = list(
        AuditEvent.objects.filter(
            target_type="evidence.riskexception", target_id=str(exception.pk)
        ).values_list("action", flat=True)
    )
    assert actions == ["exception.requested", "exception.approved", "exception.revoked"]
    assert re.search(r"exception\.approved", ended)


def test_advisory_wide_request_from_the_advisory_page() -> None:
    exposure = make_exposure()
    org = exposure.organization
    officer = client_for(MembershipFactory.create(organization=org, role=Role.OFFICER))
    page = officer.get(f"/o/{org.slug}/advisories/{exposure.advisory_id}/").content.decode()
    assert "Request an exception" in page
    url = (
        f"/o/{org.slug}/exceptions/new/?advisory={exposure.advisory_id}&fleet={exposure.fleet.slug}"
    )
    expires = (timezone.now() + timedelta(days=10)).date().isoformat()
    officer.post(url, {"justification": "vendor fix next week", "expires_on": expires})
    exception = RiskException.objects.get()
    assert exception.exposure_ref is None and exception.advisory_id == exposure.advisory_id
    detail = officer.get(f"/o/{org.slug}/exceptions/{exception.pk}/").content.decode()
    assert "every host of the fleet" in detail and "(1 exposure so far)" in detail
    assert exposure.host.hostname in detail


def test_viewers_see_no_write_controls_and_cannot_post() -> None:
    exposure = make_exposure()
    org = exposure.organization
    officer_m = MembershipFactory.create(organization=org, role=Role.OFFICER)
    viewer = client_for(MembershipFactory.create(organization=org, role=Role.VIEWER))
    from evidence.exceptions import exception_request

    exception = exception_request(
        fleet=exposure.fleet,
        exposure=exposure,
        requested_by=officer_m.user,
        justification="x",
        expires_at=timezone.now() + timedelta(days=5),
    )
    base = f"/o/{org.slug}"
    assert "request exception" not in viewer.get(f"{base}/exposures/").content.decode()
    detail = viewer.get(f"{base}/exceptions/{exception.pk}/").content.decode()
    assert "<button" not in detail.split("<main>")[1].split("</main>")[0].replace(
        '<button type="submit" class="link">Sign out</button>', ""
    )
    assert viewer.post(f"{base}/exceptions/{exception.pk}/approve/").status_code == 403
    assert viewer.get(f"{base}/exceptions/new/?exposure={exposure.pk}").status_code == 403
    exception.refresh_from_db()
    assert exception.approved_at is None


def test_other_organisations_get_404_and_an_empty_list_explains_itself() -> None:
    exposure = make_exposure()
    stranger = client_for(MembershipFactory.create(role=Role.OFFICER))
    org = exposure.organization
    assert stranger.get(f"/o/{org.slug}/exceptions/").status_code == 404
    mine = MembershipFactory.create(role=Role.OFFICER)
    empty = client_for(mine).get(f"/o/{mine.organization.slug}/exceptions/").content.decode()
    assert "No exceptions yet" in empty
    outsider = client_for(mine)
    assert (
        outsider.get(f"/o/{mine.organization.slug}/exceptions/new/?exposure={exposure.pk}")
    ).status_code == 404


def test_the_form_offers_an_iso_expiry_the_date_picker_accepts() -> None:
    exposure = make_exposure()
    officer = client_for(
        MembershipFactory.create(organization=exposure.organization, role=Role.OFFICER)
    )
    page = officer.get(
        f"/o/{exposure.organization.slug}/exceptions/new/?exposure={exposure.pk}"
    ).content.decode()
    default = (timezone.now() + timedelta(days=30)).date().isoformat()
    assert f'value="{default}"' in page
