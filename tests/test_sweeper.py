"""The sweeper and the claims that make redelivery safe: work stuck past its task's time limit
is queued again and finishes once; a redelivered message of a dead worker re-claims its own
row, any other delivery does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from evidence.controls.evaluate import evaluation_execute, evaluation_request
from evidence.ingest import sbom_ingest, sbom_receive
from evidence.models import (
    AuditPacket,
    ControlEvaluation,
    PackageInterval,
    SbomDocument,
)
from evidence.packets.build import packet_render, packet_request
from evidence.sweeper import work_requeue_stuck
from portal.accounts.models import AuditEvent
from tests.conftest import DATA
from tests.factories import FleetFactory, HostFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
LONG_AGO = timedelta(hours=3)  # past every task's hard time limit


def queued_sbom() -> SbomDocument:
    host = HostFactory.create(fleet=FleetFactory.create())
    data = (DATA / "nested-components.cdx.json").read_bytes()
    return sbom_receive(
        organization=host.fleet.organization,
        data=data,
        size=len(data),
        host=host,
        fleet=host.fleet,
        dispatch=False,
    )


def stick(obj: Any, status: str, age: timedelta, claimed_by: str = "dead-task") -> None:
    type(obj).objects.filter(pk=obj.pk).update(
        status=status, status_changed_at=timezone.now() - age, claimed_by=claimed_by
    )


def test_stuck_work_of_every_kind_is_queued_again_and_finishes_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    doc = queued_sbom()
    stick(doc, "processing", LONG_AGO)
    org = doc.organization
    packet = packet_request(
        organization=org,
        period_start=TODAY - timedelta(days=30),
        period_end=TODAY,
        dispatch=False,
    )
    stick(packet, "running", LONG_AGO)
    evaluation = evaluation_request(
        organization=org,
        fleet=None,
        period_start=TODAY - timedelta(days=30),
        period_end=TODAY,
        dispatch=False,
    )
    stick(evaluation, "queued", LONG_AGO, claimed_by="")
    fresh = queued_sbom()
    stick(fresh, "processing", timedelta(minutes=1))  # may still be running: left alone

    with django_capture_on_commit_callbacks(execute=True):
        counts = work_requeue_stuck()  # eager tasks: each re-dispatch runs at commit

    assert counts == {"sbom": 1, "packet": 1, "evaluation": 1}
    doc.refresh_from_db()
    packet.refresh_from_db()
    evaluation.refresh_from_db()
    assert (doc.status, doc.attempts) == ("ingested", 1)
    assert PackageInterval.objects.filter(host=doc.host).count() == doc.component_count
    assert packet.status == "done" and packet.pdf
    assert evaluation.status == "done"
    assert SbomDocument.objects.get(pk=fresh.pk).status == "processing"
    requeued = AuditEvent.objects.filter(action="work.requeued")
    assert sorted(e.data["kind"] for e in requeued) == ["evaluation", "packet", "sbom"]
    assert work_requeue_stuck() == {"sbom": 0, "packet": 0, "evaluation": 0}


def test_a_redelivered_message_reclaims_its_own_row_and_no_other() -> None:
    doc = queued_sbom()
    stick(doc, "processing", timedelta(seconds=5), claimed_by="task-a")
    # Another message for the same document (a duplicate dispatch) must not take it ...
    assert sbom_ingest(document_id=doc.pk, task_id="task-b").status == "processing"
    # ... but task-a's own message, redelivered after its worker died, finishes it.
    assert sbom_ingest(document_id=doc.pk, task_id="task-a").status == "ingested"
    # Delivered yet again: nothing more happens.
    assert sbom_ingest(document_id=doc.pk, task_id="task-a").status == "ingested"
    doc.refresh_from_db()
    assert PackageInterval.objects.filter(host=doc.host).count() == doc.component_count

    packet = packet_request(
        organization=doc.organization,
        period_start=TODAY - timedelta(days=7),
        period_end=TODAY,
        dispatch=False,
    )
    stick(packet, "running", timedelta(seconds=5), claimed_by="render-1")
    assert packet_render(packet_id=packet.pk, task_id="render-2").status == "running"
    assert packet_render(packet_id=packet.pk, task_id="render-1").status == "done"
    assert AuditPacket.objects.get(pk=packet.pk).evaluation is not None

    evaluation = evaluation_request(
        organization=doc.organization,
        fleet=None,
        period_start=TODAY - timedelta(days=7),
        period_end=TODAY,
        dispatch=False,
    )
    stick(evaluation, "running", timedelta(seconds=5), claimed_by="eval-1")
    assert evaluation_execute(evaluation_id=evaluation.pk, task_id="eval-2").status == "running"
    assert evaluation_execute(evaluation_id=evaluation.pk, task_id="eval-1").status == "done"
    assert ControlEvaluation.objects.get(pk=evaluation.pk).assessments.count() > 0


def test_the_sweeper_runs_every_five_minutes() -> None:
    from portal.celery import app

    entry = app.conf.beat_schedule["requeue-stuck-work"]
    assert entry["task"] == "evidence.work.requeue_stuck" and entry["schedule"] == 300
