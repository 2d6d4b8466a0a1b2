"""The portal in a real browser (Debian's Chromium, driven by Playwright).

With PATCHPROOF_SCREENSHOTS=DIR set, the test also writes the README's screenshots there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from tests.conftest import DATA, service_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        service_missing("Chromium (Debian package chromium) is not installed")
    playwright_sync = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # While that loop runs, Django keeps this thread's connections apart (asgiref's Local
        # stores them per context when a loop is running): close the ones the test opened
        # here, which nothing would close otherwise, and which kept the test database from
        # being dropped at the end of the run.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def shoot(page: Any, name: str) -> None:
    target = os.environ.get("PATCHPROOF_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / name), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_officer_signs_in_sees_fleets_and_uploads_an_sbom(live_server, browser, settings) -> None:
    settings.DEBUG = True  # seed_demo's guard; pages render the same
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/o/acme/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "officer@acme.example")
    page.fill("#id_password", "patchproof-demo")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/o/acme/")
    assert page.locator("h1").inner_text() == "Acme Analytics"
    fleets = page.locator("section:has(h2:text('Fleets')) tbody tr")
    assert fleets.count() == 2
    assert (
        "Web production" in fleets.first.inner_text()
        or "Batch workers" in fleets.first.inner_text()
    )
    assert page.get_by_text("Globex").count() == 0

    page.click("text=Upload SBOM >> nth=0")
    page.set_input_files("#id_file", str(DATA / "nested-components.cdx.json"))
    page.select_option("#id_fleet", label="Web production")
    page.fill("#id_hostname", "web-04.acme.example")
    page.click("button:text('Upload')")
    page.wait_for_url("**/sboms/*/")
    assert "Ingested" in page.locator("h1").inner_text()
    assert page.locator("dt:text('Components') + dd").inner_text() == "5"

    page.goto(f"{live_server.url}/o/globex/")
    assert "Not found" in page.locator("h1").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_rejected_upload_explains_itself_in_the_browser(live_server, browser, settings) -> None:
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "officer@acme.example")
    page.fill("#id_password", "patchproof-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/o/acme/")

    page.click("td:has-text('truncated.json') >> xpath=.. >> a")
    assert "Rejected" in page.locator("h1").inner_text()
    reason = page.locator(".error-box").inner_text()
    assert "not JSON" in reason and "line 1" in reason
    shoot(page, "rejected-upload.png")
