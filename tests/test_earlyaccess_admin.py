"""Early access for staff: the admin list, triage actions, bundles, invitations, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from portal.accounts.models import AuditEvent, Membership, Organization, Role
from portal.earlyaccess.models import Bundle, BundleLink, Registration, Status
from tests.factories import PASSWORD, UserFactory
from tests.test_earlyaccess import (
    EMAIL,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
    link,
    register,
    registered_and_confirmed,
    send_fixture,  # noqa: F401  (the `send` fixture)
    token_of,
)

LIST = "/admin/earlyaccess/registration/"


@pytest.fixture
def staff() -> Client:
    client = Client()
    user: Any = UserFactory(username="admin@patchproof.example", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def bundle() -> Bundle:
    bundle = Bundle.objects.create(
        name="From CBL-Mariner 2",
        distribution="cbl-mariner-2",
        instructions="Run the pre-flight check first.",
    )
    BundleLink.objects.create(
        bundle=bundle, kind="image", label="AL4 Gen2 image", url="https://images.example/al4.vhd"
    )
    BundleLink.objects.create(
        bundle=bundle,
        kind="script",
        label="mariner2-to-al4.sh",
        url="https://scripts.example/mariner2-to-al4.sh",
        position=1,
    )
    return bundle


def act(send: Any, staff: Client, action: str, *selected: Registration, query: str = "") -> Any:
    """Run an admin action on the list (filtered by `query`, as the page it is chosen on)."""
    data = {"action": action, "_selected_action": [r.pk for r in selected]}
    return send(staff.post, f"{LIST}{query}", data, follow=True)


def lead(send: Any, n: int, **changes: Any) -> Registration:
    fields = {"work_email": f"lead{n}@org{n}.example", "organization_name": f"Org {n}", **changes}
    return registered_and_confirmed(send, **fields)


@pytest.mark.django_db
def test_confirmed_registrations_are_leads_and_unconfirmed_ones_are_not(staff, send) -> None:
    registered_and_confirmed(send)
    register(send, work_email="pending@fabrikam.example", organization_name="Fabrikam")

    page = staff.get(LIST).content.decode()
    assert "Contoso" in page and EMAIL in page
    assert "Fabrikam" not in page and "pending@fabrikam.example" not in page
    assert "1 registration" in page or "1 result" in page

    waiting = staff.get(LIST, {"confirmed": "no"}).content.decode()
    assert "— (unconfirmed)" in waiting
    assert "Fabrikam" not in waiting and "pending@fabrikam.example" not in waiting
    unconfirmed = Registration.objects.get(status=Status.UNCONFIRMED)
    detail = staff.get(f"{LIST}{unconfirmed.pk}/change/").content.decode()
    assert "pending@fabrikam.example" not in detail and "Fabrikam" not in detail


@pytest.mark.django_db
def test_filters_and_search_find_the_right_leads(staff, send) -> None:
    lead(send, 1, current_distribution="azurelinux-3", fleet_size="5000+", country="DE")
    lead(send, 2, current_distribution="fedora", fleet_size="1-49", country="FR")
    lead(send, 3, current_distribution="azurelinux-3", fleet_size="1-49", country="FR")

    def shown(**params: str) -> set[str]:
        text = staff.get(LIST, params).content.decode()
        return {f"Org {n}" for n in (1, 2, 3) if f"Org {n}<" in text}

    assert shown() == {"Org 1", "Org 2", "Org 3"}
    assert shown(current_distribution__exact="azurelinux-3") == {"Org 1", "Org 3"}
    assert shown(fleet_size__exact="1-49") == {"Org 2", "Org 3"}
    assert shown(country="FR", fleet_size__exact="1-49") == {"Org 2", "Org 3"}
    assert shown(country="DE") == {"Org 1"}
    countries = staff.get(LIST).content.decode()
    assert "Germany" in countries and "France" in countries and "Zimbabwe" not in countries
    assert shown(q="lead2@org2") == {"Org 2"}
    assert shown(status__exact="approved") == set()


@pytest.mark.django_db
def test_the_list_stays_fast_with_hundreds_of_registrations(
    staff, django_assert_max_num_queries
) -> None:
    from django.utils import timezone

    now = timezone.now()
    Registration.objects.bulk_create(
        Registration(
            work_email=f"r{n}@bulk.example",
            organization_name=f"Bulk {n}",
            contact_name=f"Person {n}",
            country="NL",
            fleet_size="50-499",
            current_distribution="azurelinux-3",
            consent_notice_version="2026-11",
            consented_at=now,
            confirmed_at=now,
            status=Status.NEW,
        )
        for n in range(400)
    )
    with django_assert_max_num_queries(9):
        page = staff.get(LIST)
    assert page.status_code == 200
    assert "400 registrations" in page.content.decode()


@pytest.mark.django_db
def test_approving_emails_the_bundle_and_records_who_and_when(staff, send, bundle) -> None:
    registration = registered_and_confirmed(send)

    page = act(send, staff, "mark_approved", registration)

    assert "Approve: 1 registration." in page.content.decode()
    registration.refresh_from_db()
    assert registration.status == Status.APPROVED
    assert registration.bundle == bundle
    assert registration.status_changed_by is not None
    assert registration.status_changed_by.username == "admin@patchproof.example"
    assert registration.status_changed_at is not None
    [message] = mail.outbox
    assert message.to == [EMAIL]
    assert message.subject == "You are in: Azure Linux 4 early access"
    assert "Hello Ana Ruiz" in message.body
    assert "https://images.example/al4.vhd" in message.body
    assert "https://scripts.example/mariner2-to-al4.sh" in message.body
    assert "Run the pre-flight check first." in message.body
    assert link(message, "/early-access/my-data/")
    event = AuditEvent.objects.get(action="earlyaccess.approved")
    assert event.actor_label == "admin@patchproof.example"
    assert event.target_id == str(registration.pk)
    assert event.data == {"from": "new", "to": "approved", "bundle_id": bundle.pk}
    history = staff.get(f"{LIST}{registration.pk}/change/").content.decode()
    assert "approved · admin@patchproof.example" in history


@pytest.mark.django_db
def test_waitlist_reject_and_onboard_follow_the_allowed_moves(staff, send) -> None:
    a, b = lead(send, 1), lead(send, 2)

    act(send, staff, "mark_waitlisted", a)
    act(send, staff, "mark_rejected", b)
    page = act(send, staff, "mark_onboarded", a, b)

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (Status.WAITLISTED, Status.REJECTED)
    assert "2 skipped" in page.content.decode()
    assert [m.subject for m in mail.outbox] == [
        "Azure Linux 4 early access: you are on the waiting list",
        "Azure Linux 4 early access: your registration",
    ]
    act(send, staff, "mark_approved", a)
    act(send, staff, "mark_onboarded", a)
    a.refresh_from_db()
    assert a.status == Status.ONBOARDED
    assert mail.outbox[-1].subject == "Welcome aboard: Azure Linux 4 early access"
    actions = list(
        AuditEvent.objects.filter(target_id=str(a.pk), action__startswith="earlyaccess.")
        .exclude(action__in=["earlyaccess.submitted", "earlyaccess.confirmed"])
        .values_list("action", flat=True)
    )
    assert actions == ["earlyaccess.waitlisted", "earlyaccess.approved", "earlyaccess.onboarded"]


@pytest.mark.django_db
def test_actions_leave_unconfirmed_registrations_alone(staff, send) -> None:
    register(send)
    mail.outbox.clear()
    registration = Registration.objects.get()
    page = act(send, staff, "mark_approved", registration, query="?confirmed=no")
    assert "1 skipped" in page.content.decode()
    registration.refresh_from_db()
    assert registration.status == Status.UNCONFIRMED
    assert mail.outbox == []


@pytest.mark.django_db
def test_approve_and_invite_connects_the_registrant_to_the_portal(staff, send, bundle) -> None:
    registration = registered_and_confirmed(send)

    act(send, staff, "approve_and_invite", registration)

    registration.refresh_from_db()
    organization = Organization.objects.get(name="Contoso")
    assert registration.organization == organization
    owner = Membership.objects.get(organization=organization)
    assert owner.role == Role.OWNER and owner.user.email == EMAIL
    assert not owner.user.has_usable_password()
    approved, invitation = mail.outbox
    assert approved.subject == "You are in: Azure Linux 4 early access"
    assert invitation.subject == "Your Patchproof organisation is ready"
    assert 'organisation "Contoso"' in invitation.body
    url = link(invitation, "/early-access/invitation/")

    client = Client()
    form = client.get(url)
    assert form.status_code == 200 and EMAIL in form.content.decode()
    weak = client.post(
        "/early-access/invitation/",
        {"t": token_of(url), "new_password1": "short", "new_password2": "short"},
    )
    assert weak.status_code == 400
    done = send(
        client.post,
        "/early-access/invitation/",
        {"t": token_of(url), "new_password1": PASSWORD, "new_password2": PASSWORD},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()
    assert Client().login(username=EMAIL, password=PASSWORD)
    assert Client().get(url).status_code == 400  # used once, then dead

    # Inviting again creates nothing new; the existing account is told to sign in.
    act(send, staff, "approve_and_invite", registration)
    assert Organization.objects.filter(name="Contoso").count() == 1
    assert "already have a Patchproof account" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="earlyaccess.invitation_accepted").count() == 1


@pytest.mark.django_db
def test_bundles_are_assigned_by_distribution_or_by_hand(staff, send, bundle) -> None:
    fedora = Bundle.objects.create(name="From Fedora", distribution="fedora")
    a = lead(send, 1)  # cbl-mariner-2
    b = lead(send, 2, current_distribution="fedora")
    c = lead(send, 3, current_distribution="other")

    act(send, staff, "assign_matching_bundle", a, b, c)
    a.refresh_from_db()
    b.refresh_from_db()
    c.refresh_from_db()
    assert (a.bundle, b.bundle, c.bundle) == (bundle, fedora, None)
    assert mail.outbox == []  # not approved yet: the approval email will carry it

    act(send, staff, "mark_approved", c)
    mail.outbox.clear()
    response = send(staff.post, f"{LIST}{c.pk}/change/", {"bundle": fedora.pk}, follow=True)
    assert response.status_code == 200
    c.refresh_from_db()
    assert c.bundle == fedora
    [message] = mail.outbox
    assert message.subject == "Your Azure Linux 4 early-access bundle"
    assert "From Fedora" in message.body
    assert AuditEvent.objects.filter(action="earlyaccess.bundle_assigned").count() == 3


@pytest.mark.django_db
def test_csv_export_holds_the_filtered_leads(staff, send) -> None:
    lead(send, 1, current_distribution="azurelinux-3")
    lead(send, 2, current_distribution="fedora", organization_name="=HYPERLINK(1)")
    register(send, work_email="unconfirmed@x.example")

    response = staff.get(f"{LIST}export.csv", {"current_distribution__exact": "fedora"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == [
        "id", "status", "organisation", "contact_name", "work_email", "country", "fleet_size",
        "current_distribution", "azure_regions", "workloads", "other_workloads",
        "migration_tooling", "bundle", "portal_organisation", "registered_at", "confirmed_at",
        "status_changed_at", "consent_notice_version", "consented_at",
    ]  # fmt: skip
    [row] = rows
    assert row["organisation"] == "'=HYPERLINK(1)"  # not run as a formula by spreadsheets
    assert row["work_email"] == "lead2@org2.example"
    assert row["azure_regions"] == "West Europe; North Europe"
    assert row["workloads"] == "Web and API services; Containers / AKS nodes"
    assert row["migration_tooling"] == "yes" and row["status"] == "new"

    everything = staff.get(f"{LIST}export.csv", {"confirmed": "all"}).content.decode()
    assert "lead1@org1.example" in everything and "unconfirmed@x.example" not in everything
    assert AuditEvent.objects.filter(action="earlyaccess.leads_exported").count() == 2
    page = staff.get(LIST, {"current_distribution__exact": "fedora"}).content.decode()
    assert "export.csv?current_distribution__exact=fedora" in page


@pytest.mark.django_db
def test_staff_can_erase_on_a_request_received_elsewhere(staff, send) -> None:
    registration = lead(send, 1)
    act(send, staff, "erase_personal_data", registration)
    registration.refresh_from_db()
    assert registration.status == Status.DELETED and registration.work_email is None
    assert registration.erasure_reason == "staff"
    assert "lead1@org1.example" not in staff.get(LIST, {"confirmed": "all"}).content.decode()


@pytest.mark.django_db
def test_registrations_are_for_staff_only(send) -> None:
    registered_and_confirmed(send)
    member = Client()
    someone: Any = UserFactory()
    member.force_login(someone)
    for client in [Client(), member]:
        for url in [LIST, f"{LIST}export.csv", "/admin/earlyaccess/bundle/"]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_rejected_registrant_who_registers_again_is_a_new_lead(staff, send) -> None:
    registration = registered_and_confirmed(send)
    act(send, staff, "mark_rejected", registration)
    assert "register again for a future round" in mail.outbox[-1].body
    mail.outbox.clear()

    register(send, fleet_size="5000+")
    registration.refresh_from_db()
    assert registration.status == Status.REJECTED  # until the address confirms
    confirm_link = link(mail.outbox[-1], "/early-access/confirm/")
    send(Client().post, "/early-access/confirm/", {"t": token_of(confirm_link)})

    registration.refresh_from_db()
    assert (registration.status, registration.fleet_size) == (Status.NEW, "5000+")
    assert "Contoso" in staff.get(LIST, {"status__exact": "new"}).content.decode()
