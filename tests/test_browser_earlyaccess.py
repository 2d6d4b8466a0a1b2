"""Azure Linux 4 early access end to end in a real browser (Debian's Chromium, Playwright):
a visitor registers, confirms by email, is approved in the admin, accepts the invitation and
signs in to the portal; and a registrant downloads and erases their data.

Emails are read from Django's locmem outbox (the test email backend), links followed in the
browser. With PATCHPROOF_SCREENSHOTS=DIR set, the pages are also saved there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from portal.accounts.models import Membership
from portal.earlyaccess.models import Bundle, BundleLink, Registration, Status
from tests.factories import UserFactory
from tests.test_browser import browser, shoot  # noqa: F401  (`browser`: the Chromium fixture)
from tests.test_earlyaccess import _fresh_rate_limits  # noqa: F401  (autouse fixture)

PASSWORD = "early-access-owner-2026!"
URL = re.compile(r"https?://\S+")


def emailed_link(path: str) -> str:
    """The link to `path` in the latest email that has one."""
    for message in reversed(mail.outbox):
        for url in URL.findall(str(message.body)):
            if f"{path}?" in url:
                return url
    raise AssertionError(f"no email links to {path}: {[m.subject for m in mail.outbox]}")


def fill_registration(page: Any, email: str) -> None:
    page.fill("#id_organization_name", "Northwind Traders")
    page.fill("#id_contact_name", "Nora Lind")
    page.fill("#id_work_email", email)
    page.select_option("#id_country", "SE")
    page.select_option("#id_fleet_size", "500-4999")
    page.select_option("#id_current_distribution", "azurelinux-3")
    page.select_option("#id_azure_regions", ["swedencentral", "northeurope"])
    page.check("input[name=workloads][value=containers]")
    page.check("#id_wants_migration_tooling")
    page.check("#id_consent")


@pytest.mark.django_db(transaction=True)
def test_a_visitor_registers_is_approved_and_signs_in(live_server, browser, settings) -> None:  # noqa: F811
    settings.SITE_URL = live_server.url
    bundle = Bundle.objects.create(name="From Azure Linux 3", distribution="azurelinux-3")
    BundleLink.objects.create(
        bundle=bundle, kind="image", label="AL4 preview", url="https://images.example/al4.vhd"
    )
    UserFactory(username="staff@patchproof.example", is_staff=True, is_superuser=True)
    visitor = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = visitor.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    # Register.
    page.goto(f"{live_server.url}/early-access/")
    assert "Fedora" in page.locator("main").inner_text()
    box = page.locator("#id_website").bounding_box()
    assert box is None or box["x"] < 0  # the honeypot is out of sight
    fill_registration(page, "nora.lind@northwind.example")
    shoot(page, "early-access-form.png")
    page.click("button:text('Register interest')")
    page.wait_for_url("**/early-access/thanks/")
    assert "Check your inbox" in page.locator("h1").inner_text()

    # Receive the email and confirm.
    [message] = mail.outbox
    assert message.to == ["nora.lind@northwind.example"]
    page.goto(emailed_link("/early-access/confirm/"))
    page.click("button:text('Confirm my registration')")
    page.wait_for_url("**/early-access/confirmed/")
    assert "Registration confirmed" in page.locator("h1").inner_text()

    # Appear in the admin, and be approved with an invitation to the portal.
    admin = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    admin.goto(f"{live_server.url}/admin/earlyaccess/registration/")
    admin.fill("#id_username", "staff@patchproof.example")
    admin.fill("#id_password", "correct-horse-battery-staple")
    admin.click("input[type=submit]")
    admin.wait_for_url("**/admin/earlyaccess/registration/")
    row = admin.locator("#result_list tbody tr", has_text="Northwind Traders")
    assert "nora.lind@northwind.example" in row.inner_text()
    shoot(admin, "early-access-admin.png")
    row.locator("input[name=_selected_action]").check()
    admin.select_option("select[name=action]", "approve_and_invite")
    admin.click("button[name=index]")
    assert "Approved and invited: 1 registration" in admin.locator(".messagelist").inner_text()
    registration = Registration.objects.get()
    assert registration.status == Status.APPROVED
    assert registration.bundle == bundle

    # The approval email carries the bundle; the invitation a set-password link.
    subjects = [m.subject for m in mail.outbox]
    assert "You are in: Azure Linux 4 early access" in subjects
    assert "https://images.example/al4.vhd" in mail.outbox[-2].body
    page.goto(emailed_link("/early-access/invitation/"))
    assert "nora.lind@northwind.example" in page.locator("main").inner_text()
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.click("button:text('Set password')")
    page.wait_for_url("**/accounts/login/")
    assert "Your password is set" in page.locator(".messages").inner_text()

    # Sign in: the new organisation's dashboard, the registrant its owner.
    page.fill("#id_username", "nora.lind@northwind.example")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    slug = Membership.objects.get(user__email="nora.lind@northwind.example").organization.slug
    page.wait_for_url(f"{live_server.url}/o/{slug}/")
    assert page.locator("h1").inner_text() == "Northwind Traders"
    assert "owner" in page.locator(".who").inner_text()
    assert refused == []
    shoot(page, "early-access-onboarded.png")


@pytest.mark.django_db(transaction=True)
def test_a_registrant_downloads_then_erases_their_data(
    live_server,
    browser,  # noqa: F811
    settings,
    tmp_path: Path,
) -> None:
    settings.SITE_URL = live_server.url
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(f"{live_server.url}/early-access/")
    fill_registration(page, "nora.lind@northwind.example")
    page.click("button:text('Register interest')")
    page.wait_for_url("**/early-access/thanks/")

    page.goto(emailed_link("/early-access/my-data/"))  # every email has the data link
    with page.expect_download() as download_info:
        page.click("button:text('Download my data (JSON)')")
    saved = tmp_path / "data.json"
    download_info.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["registration"]["work_email"] == "nora.lind@northwind.example"
    assert sorted(data["registration"]["azure_regions"]) == ["northeurope", "swedencentral"]

    page.click("button:text('Erase my registration')")
    assert "Confirm the erasure by email" in page.locator("h1").inner_text()
    page.goto(emailed_link("/early-access/erase/"))
    page.click("button:text('Erase my data')")
    assert "Registration erased" in page.locator("h1").inner_text()
    registration = Registration.objects.get()
    assert registration.status == Status.DELETED and registration.work_email is None
