"""End to end with a real Celery worker consuming Redis: upload, queue, ingest, render."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.test import Client
from django.utils import timezone

from evidence.models import AuditPacket, SbomDocument
from portal.accounts.models import Role
from portal.accounts.tokens import api_token_create
from portal.celery import app as celery_app
from tests.conftest import DATA, service_missing
from tests.factories import FleetFactory, MembershipFactory


@contextmanager
def running_worker(redis_url: str) -> Iterator[None]:
    """A worker thread on the real broker, consuming the project's three queues; tasks are
    sent to it (not run eagerly) while the block runs."""
    if connection.vendor != "postgresql":
        service_missing(
            "a live worker needs PostgreSQL (set DATABASE_URL): SQLite's in-memory test "
            "database cannot be shared with the worker thread"
        )
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = redis_url  # type: ignore[misc]
    celery_app._pool = None  # type: ignore[attr-defined]  # no connections to another broker
    celery_app.control.purge()
    try:
        with start_worker(
            celery_app,
            pool="solo",
            perform_ping_check=False,
            queues=["ingest", "feeds", "packets"],
            shutdown_timeout=30,
        ):
            yield
    finally:
        celery_app.conf.task_always_eager = saved[0]
        celery_app.conf.broker_url = saved[1]  # type: ignore[misc]
        celery_app._pool = None  # type: ignore[attr-defined]


@pytest.fixture
def live_worker(redis_url: str, transactional_db: None) -> Iterator[None]:
    """A worker thread on the real broker, consuming the project's three queues."""
    with running_worker(redis_url):
        yield


def wait_for(check: Callable[[], bool], *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")


@pytest.mark.services
def test_token_upload_is_ingested_by_a_worker(live_worker: None) -> None:
    fleet = FleetFactory.create(slug="web")
    _, secret = api_token_create(organization=fleet.organization, fleet=fleet, name="agent")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = (DATA / "nested-components.cdx.json").read_bytes()

    response = client.post(
        "/api/v1/sboms/?host=web-01.example.test",
        data=body,
        content_type="application/vnd.cyclonedx+json",
    )

    assert response.status_code == 202, response.content
    status_url = response["Location"]
    assert response.json()["status"] == "queued"
    doc_id = response.json()["id"]

    wait_for(lambda: SbomDocument.objects.get(pk=doc_id).status == "ingested")
    status = client.get(status_url).json()
    assert status["status"] == "ingested"
    assert status["component_count"] == 5
    assert status["host"] == "web-01.example.test"
    assert status["document_created_at"].startswith("2026-11-01T08:00:00")


@pytest.mark.services
def test_packet_requested_on_the_web_is_rendered_by_a_worker(
    live_worker: None, tmp_path: Path
) -> None:
    membership = MembershipFactory.create(role=Role.OFFICER)
    FleetFactory.create(organization=membership.organization, name="Payments")
    client = Client()
    client.force_login(membership.user)
    start, end = timezone.now().date() - timedelta(days=30), timezone.now().date()

    response = client.post(
        f"/o/{membership.organization.slug}/packets/new/",
        {"period_start": start.isoformat(), "period_end": end.isoformat()},
    )

    assert response.status_code == 302
    packet = AuditPacket.objects.get(organization=membership.organization)
    wait_for(lambda: AuditPacket.objects.get(pk=packet.pk).status == "done", timeout=60)
    download = client.get(f"/o/{membership.organization.slug}/packets/{packet.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]
