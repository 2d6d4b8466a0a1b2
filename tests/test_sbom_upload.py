"""SBOM upload through the API, the web form and the command, with the bad input users send."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from evidence.models import Fleet, Host, SbomDocument
from portal.accounts.models import Role
from portal.accounts.tokens import api_token_create
from tests.conftest import DATA
from tests.factories import FleetFactory, MembershipFactory

NESTED = (DATA / "nested-components.cdx.json").read_bytes()


@pytest.fixture
def fleet(db: None) -> Fleet:
    return FleetFactory.create(slug="web")


@pytest.fixture
def agent(fleet: Fleet) -> Client:
    _, secret = api_token_create(organization=fleet.organization, fleet=fleet, name="agent")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def officer(fleet: Fleet) -> Client:
    membership = MembershipFactory.create(organization=fleet.organization, role=Role.OFFICER)
    client = Client()
    client.force_login(membership.user)
    return client


def post_raw(client: Client, body: bytes, url: str = "/api/v1/sboms/?host=web-01") -> Any:
    return client.post(url, data=body, content_type="application/vnd.cyclonedx+json")


def stored_state() -> list[tuple]:
    return sorted(
        SbomDocument.objects.values_list("pk", "status", "sha256", "component_count", "error")
    )


def test_api_upload_answers_202_and_is_ingested(agent: Client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_raw(agent, NESTED)

    assert response.status_code == 202
    assert response["Location"].endswith(f"/api/v1/sboms/{response.json()['id']}/")
    status = agent.get(response["Location"]).json()
    assert status["status"] == "ingested"
    assert status["component_count"] == 5
    assert (status["format"], status["encoding"]) == ("cyclonedx", "json")
    assert status["spec_version"] == "1.5"
    assert Host.objects.get().hostname == "web-01"


def test_multipart_upload(agent: Client, django_capture_on_commit_callbacks) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("web-02.cdx.json", NESTED, content_type="application/json")
    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post("/api/v1/sboms/", {"file": upload, "host": "web-02"})

    assert response.status_code == 202, response.content
    doc = SbomDocument.objects.select_related("host").get()
    assert doc.host is not None
    assert (doc.filename, doc.status, doc.host.hostname) == (
        "web-02.cdx.json",
        "ingested",
        "web-02",
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "the document is empty"),
        (b"   \n", 400, "the document is empty"),
        (b"<html><body>hello</body></html>", 400, "root element is <html>"),
        (b"not an sbom at all", 400, "not an SBOM"),
        (b'{"hello": "world"}', 400, "a JSON object without 'bomFormat'"),
        (b'{"bomFormat": "CycloneDX", "components": [', 400, "not JSON"),
        (b"\xff\xfe{}", 400, "not UTF-8"),
        (b"[1, 2, 3]", 400, "must be an object at the top level"),
    ],
)
def test_bad_api_upload_is_recorded_rejected_and_answered_4xx(
    agent: Client, body: bytes, status: int, message: str, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_raw(agent, NESTED)
    before = stored_state()

    response = post_raw(agent, body)

    assert response.status_code == status
    assert message in response.json()["error"]
    assert response.json()["status"] == "rejected"
    rejected = SbomDocument.objects.get(pk=response.json()["id"])
    assert rejected.status == "rejected"
    assert message in rejected.error
    assert stored_state() == sorted(
        [*before, (rejected.pk, "rejected", rejected.sha256, None, rejected.error)]
    )


def test_not_json_message_says_where(agent: Client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_raw(agent, b'{\n  "bomFormat": "CycloneDX",\n  oops\n}')
    assert response.status_code == 202  # looks like CycloneDX JSON; the ingest reads it
    status = agent.get(response["Location"]).json()
    assert status["status"] == "rejected"
    assert status["error"] == (
        "not JSON: unexpected character, expected a string key (at line 3, column 3)"
    )


def test_oversize_upload_is_refused_unread(agent: Client, settings) -> None:
    settings.SBOM_MAX_BYTES = 1000
    response = post_raw(agent, b'{"pad": "' + b"x" * 2000 + b'"}')

    assert response.status_code == 413
    body = response.json()
    assert body["status"] == "rejected"
    assert "2,011 bytes; the limit is 1,000 bytes (SBOM_MAX_BYTES)" in body["error"]
    doc = SbomDocument.objects.get(pk=body["id"])
    assert doc.size == 2011
    assert not doc.raw  # refused before being stored


def test_cyclonedx_that_breaks_the_rules_is_rejected_by_the_ingest(
    agent: Client, django_capture_on_commit_callbacks
) -> None:
    body = b'{"bomFormat": "CycloneDX", "specVersion": "9.9", "components": []}'
    with django_capture_on_commit_callbacks(execute=True):
        response = post_raw(agent, body)

    assert response.status_code == 202
    doc = SbomDocument.objects.get(pk=response.json()["id"])
    assert doc.status == "rejected"
    assert "9.9" in doc.error and "1.6" in doc.error
    assert doc.raw  # kept as evidence of what was sent


def test_same_document_twice_is_a_duplicate(agent: Client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = post_raw(agent, NESTED).json()
    with django_capture_on_commit_callbacks(execute=True):
        second = post_raw(agent, NESTED).json()

    assert second["status"] == "duplicate"
    assert second["duplicate_of"] == first["id"]
    assert second["component_count"] == 5


def test_ingest_task_is_idempotent(agent: Client) -> None:
    from evidence.tasks import ingest_sbom

    doc_id = post_raw(agent, NESTED).json()["id"]  # on_commit not run: still queued
    assert ingest_sbom(doc_id) == "ingested"
    assert ingest_sbom(doc_id) == "ingested"
    doc = SbomDocument.objects.get(pk=doc_id)
    assert (doc.status, doc.attempts, doc.component_count) == ("ingested", 1, 5)
    assert ingest_sbom(999999) == "gone"


def test_fleet_token_cannot_upload_to_another_fleet(agent: Client, fleet: Fleet) -> None:
    other = FleetFactory.create(organization=fleet.organization, slug="other")
    response = post_raw(agent, NESTED, url=f"/api/v1/sboms/?fleet={other.slug}&host=x")
    assert response.status_code == 400
    assert "No fleet 'other'" in response.json()["fleet"]
    assert not SbomDocument.objects.exists()


def test_web_upload_of_a_bad_file_shows_why(officer: Client, fleet: Fleet) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("broken.json", b"not json at all")
    response = officer.post(
        f"/o/{fleet.organization.slug}/sboms/upload/",
        {"file": upload, "fleet": fleet.pk, "hostname": "web-09"},
    )

    assert response.status_code == 400
    assert b"Rejected: not an SBOM: expected CycloneDX" in response.content
    assert b"the document starts with" in response.content
    doc = SbomDocument.objects.get()
    assert doc.status == "rejected"
    assert doc.filename == "broken.json"


def test_web_upload_of_a_good_file(
    officer: Client, fleet: Fleet, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("web-01.cdx.json", NESTED)
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(
            f"/o/{fleet.organization.slug}/sboms/upload/",
            {"file": upload, "fleet": fleet.pk, "hostname": "web-01"},
        )

    assert response.status_code == 302
    page = officer.get(response["Location"])
    assert b"Ingested" in page.content
    assert b"<dt>Components</dt><dd>5</dd>" in page.content
    assert SbomDocument.objects.get().component_count == 5


def test_ingest_sbom_command_with_a_real_sbom(fleet: Fleet, fixtures_dir: Path) -> None:
    out = StringIO()
    call_command(
        "ingest_sbom",
        str(fixtures_dir / "cyclonedx" / "bom-examples_laravel-7.12.0_cdx1.4.json"),
        f"--org={fleet.organization.slug}",
        "--fleet=web",
        "--host=app-01",
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["status"] == "ingested"
    assert result["components"] == 62
    assert result["spec_version"] == "1.4"


def test_ingest_sbom_command_fails_on_a_rejected_file(fleet: Fleet, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(CommandError, match="rejected: not JSON"):
        call_command("ingest_sbom", str(bad), f"--org={fleet.organization.slug}", stdout=StringIO())
    assert SbomDocument.objects.get().status == "rejected"


@pytest.mark.django_db
def test_the_uploads_page_lists_status_warnings_and_rejections(client: Client) -> None:
    """`/sboms/` shows every upload with its status; a rejection's message is on the row; a
    queued document's page polls its progress and a finished one asks for a reload."""
    from evidence.ingest import UploadRefused, sbom_ingest, sbom_receive

    fleet = FleetFactory.create()
    member = MembershipFactory.create(organization=fleet.organization, role=Role.VIEWER)
    client.force_login(member.user)
    good = (DATA / "nested-components.cdx.json").read_bytes()
    queued = sbom_receive(
        organization=fleet.organization,
        data=good,
        size=len(good),
        fleet=fleet,
        filename="image.cdx.json",
        dispatch=False,
    )
    broken = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ['
    with pytest.raises(UploadRefused):
        sbom_receive(
            organization=fleet.organization,
            data=broken,
            size=len(broken),
            fleet=fleet,
            filename="broken.json",
        )
    base = f"/o/{fleet.organization.slug}/sboms/"
    page = client.get(base).content.decode()
    assert "image.cdx.json" in page and "Queued" in page
    assert "1 upload waiting for or being processed" in page
    detail = client.get(f"{base}{queued.pk}/").content.decode()
    assert "data-poll-url" in detail and "Waiting for a worker" in detail

    sbom_ingest(document_id=queued.pk)
    assert SbomDocument.objects.get(pk=queued.pk).status == "ingested"
    polled = client.get(f"{base}{queued.pk}/", HTTP_X_POLL="1").content.decode()
    assert "data-poll-reload" in polled and "data-poll-url" not in polled
    rejected = client.get(f"{base}?status=rejected").content.decode()
    assert "broken.json" in rejected and "not JSON" in rejected and "line 1" in rejected
    assert "image.cdx.json" not in rejected
    assert "Upload SBOM</a></div>" not in rejected  # a viewer gets no upload button
