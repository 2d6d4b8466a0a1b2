"""The compliance officer's day in a real browser, with a real Celery worker on Redis:
overview → upload an SBOM and watch it ingest → the exposure it causes → request an exception,
approved by a second person → request a packet, watch it render, download it → the auditor
downloads it too → a viewer sees no write controls.

With PATCHPROOF_SCREENSHOTS=DIR set, it also writes the README's page screenshots there.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from evidence.demo import HISTORY_DAYS, demo_sbom
from evidence.models import AuditPacket, Exposure, RiskException, SbomDocument
from tests.test_browser import browser, shoot  # noqa: F401 - the browser fixture
from tests.test_worker import running_worker

PASSWORD = "patchproof-demo"
NEW_HOST = "web-09.acme.example"


def sign_in(browser: Any, base: str, username: str) -> Any:  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"{username} could not sign in"
    return page


def write_controls(page: Any) -> list[str]:
    """Forms that change something, and links to pages that do, on the current page."""
    found = []
    for form in page.locator("main form[method=post]").all():
        found.append(form.get_attribute("action") or "(this page)")
    for link in page.locator("main a").all():
        href = link.get_attribute("href") or ""
        if any(part in href for part in ("/exceptions/new/", "/sboms/upload/", "/fleets/new/")):
            found.append(href)
    return found


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_officers_day_end_to_end(
    live_server: Any,
    browser: Any,  # noqa: F811
    settings: Any,
    redis_url: str,
    tmp_path: Path,
) -> None:
    settings.DEBUG = True  # seed_demo's guard
    call_command("seed_demo", verbosity=0)  # eagerly, before the worker starts
    settings.DEBUG = False
    base = live_server.url
    # An inventory from months ago: the versions before the demo fleet's upgrades.
    taken_at = timezone.now() - timedelta(days=HISTORY_DAYS - 10)
    sbom = tmp_path / "web-09.cdx.json"
    sbom.write_bytes(demo_sbom(hostname=NEW_HOST, distribution="azurelinux-4", taken_at=taken_at))

    with running_worker(redis_url):
        officer = sign_in(browser, base, "officer@acme.example")

        # The overview: every headline figure links to the exposures behind it.
        officer.goto(f"{base}/o/acme/")
        overdue = officer.locator("a.kpi:has-text('overdue')").first
        shown = int(overdue.locator(".n").inner_text())
        shoot(officer, "overview.png")
        overdue.click()
        officer.wait_for_url("**/exposures/?status=overdue")
        if shown:
            assert f"{shown} exposure" in officer.locator("main").inner_text()

        # Upload an SBOM and watch the page follow it to "Ingested" without reloading by hand.
        officer.goto(f"{base}/o/acme/sboms/upload/")
        officer.set_input_files("#id_file", str(sbom))
        officer.select_option("#id_fleet", label="Web production")
        officer.fill("#id_hostname", NEW_HOST)
        officer.click("button:text('Upload')")
        officer.wait_for_url("**/sboms/*/")
        officer.wait_for_selector("h1:has-text('Ingested')", timeout=60_000)
        assert officer.locator(".steps li.done").count() == 3
        document = SbomDocument.objects.get(host__hostname=NEW_HOST)
        assert document.status == "ingested"

        # The exposure it caused, on the host's page (matching runs on the worker too).
        officer.click(f"a:text('{NEW_HOST}')")
        officer.wait_for_url("**/hosts/*/")
        _wait(lambda: Exposure.objects.filter(host__hostname=NEW_HOST).exists())
        officer.reload()
        row = officer.locator("tr:has(a:text('request exception'))").first
        package = row.locator("td").nth(2).inner_text().split()[0]
        row.locator("a:text('request exception')").click()
        officer.wait_for_url("**/exceptions/new/?exposure=*")
        officer.fill("#id_justification", "Host is being rebuilt on the fixed image this week.")
        officer.fill("#id_compensating_controls", "No inbound traffic until the rebuild.")
        officer.click("button:text('Request exception')")
        officer.wait_for_url("**/exceptions/*/")
        assert "awaiting approval" in officer.locator("h1").inner_text()
        assert officer.locator("button:text('Approve')").count() == 0  # not one's own
        exception = RiskException.objects.get(exposure__host__hostname=NEW_HOST)

        # A second person approves it.
        lead = sign_in(browser, base, "lead@acme.example")
        lead.goto(f"{base}/o/acme/exceptions/?state=requested")
        lead.click(f"a:has-text('{package} on {NEW_HOST}')")
        lead.click("button:text('Approve')")
        lead.wait_for_selector("h1:has-text('in force')")
        exception.refresh_from_db()
        assert exception.approved_by is not None
        assert exception.approved_by.get_username() == "lead@acme.example"
        officer.goto(f"{base}/o/acme/exceptions/{exception.pk}/")
        assert "Excepted" in officer.locator("main table").first.inner_text()

        # Request a packet and watch it render, then download it.
        officer.goto(f"{base}/o/acme/packets/")
        officer.select_option("select[name=fleet]", label="Web production")
        officer.click("button:text('Request packet')")
        officer.wait_for_url("**/packets/*/")
        officer.wait_for_selector("a:text('Download PDF')", timeout=180_000)
        with officer.expect_download() as download_info:
            officer.click("a:text('Download PDF')")
        pdf = Path(download_info.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
        assert "Signature valid" in officer.locator("#packet-progress").inner_text()
        packet = AuditPacket.objects.get(requested_by__username="officer@acme.example")
        officer.goto(f"{base}/o/acme/packets/")
        shoot(officer, "packets.png")

        # The auditor downloads the same packet; the packet page says who did.
        auditor = sign_in(browser, base, "auditor@audit.example")
        auditor.goto(f"{base}/o/acme/packets/{packet.pk}/")
        with auditor.expect_download() as download_info:
            auditor.click("a:text('Download PDF')")
        assert Path(download_info.value.path()).read_bytes() == pdf
        assert write_controls(auditor) == []
        officer.goto(f"{base}/o/acme/packets/{packet.pk}/")
        downloads = officer.locator("table:has(th:text('Who'))").inner_text()
        assert "auditor@audit.example" in downloads and "officer@acme.example" in downloads

    # A viewer reads everything and sees nothing that writes.
    viewer = sign_in(browser, base, "viewer@acme.example")
    for path in (
        "/o/acme/",
        "/o/acme/exposures/",
        f"/o/acme/hosts/{document.host_id}/",
        "/o/acme/exceptions/",
        f"/o/acme/exceptions/{exception.pk}/",
        "/o/acme/packets/",
        f"/o/acme/packets/{packet.pk}/",
        "/o/acme/sboms/",
        "/o/acme/fleets/web-prod/",
    ):
        viewer.goto(f"{base}{path}")
        assert viewer.locator("h1").count() == 1
        assert write_controls(viewer) == [], path
    nav = viewer.locator("header nav").inner_text()
    assert "Tokens" not in nav

    # The README's pictures of the fleet and advisory pages.
    viewer.goto(f"{base}/o/acme/fleets/web-prod/")
    shoot(viewer, "fleet.png")
    viewer.goto(f"{base}/o/acme/advisories/{exception.advisory_id}/")
    assert viewer.locator("figure svg").count() >= 1
    shoot(viewer, "advisory.png")


def _wait(check: Any, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_journey_pictures_are_kept_under_docs() -> None:
    """The README shows the journey's screenshots from docs/ (regenerated by make screenshots)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in ("overview.png", "fleet.png", "advisory.png", "packets.png"):
        assert f"docs/{name}" in readme
        assert (Path(__file__).resolve().parent.parent / "docs" / name).is_file()
