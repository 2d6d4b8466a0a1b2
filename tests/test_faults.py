"""Fault drills against real services: Celery workers (separate processes) killed with SIGKILL
mid-task, and a Redis broker restarted with tasks queued.

What must hold: after a new worker starts, every task finishes exactly once; nothing partial is
stored; nothing queued is lost. The mechanisms: `acks_late` with `reject_on_worker_lost` (the
message of a dead worker goes back to the queue after the broker's visibility timeout, set short
here), claims keyed by the task id (`claimed_by`: only that message may resume the row), one
transaction per result, and the sweeper (`evidence.sweeper`), which works from the database when
the broker lost a message altogether.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from evidence.ingest import sbom_receive
from evidence.models import (
    AuditPacket,
    ControlEvaluation,
    PackageInterval,
    SbomDocument,
)
from evidence.packets.build import packet_request
from evidence.packets.signing import packet_verify
from evidence.sweeper import work_requeue_stuck
from portal.accounts.models import AuditEvent
from portal.celery import app as celery_app
from tests.conftest import database_url, service_missing
from tests.factories import FleetFactory, HostFactory
from tests.test_matching import cyclonedx

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
VISIBILITY_TIMEOUT = 6  # seconds: how long a dead worker's message waits before redelivery


LOG_DIRS: list[Path] = []  # the worker logs of the running test, quoted when a wait fails


def wait_for(check: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    logs = "".join(
        f"\n--- {log.name} ---\n" + log.read_text(errors="replace")[-3000:]
        for folder in LOG_DIRS
        for log in sorted(folder.glob("worker-*.log"))
    )
    raise AssertionError(f"timed out waiting for {what}{logs}")


class Workers:
    """Celery worker processes on one broker, against the test database and media root."""

    def __init__(self, broker_url: str, logs: Path) -> None:
        self.broker_url = broker_url
        self.logs = logs
        LOG_DIRS[:] = [logs]
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.broker_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "SECRET_KEY": "fault-drill-only",
            "DEBUG": "0",
        }
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker"]
        command += ["-Q", "ingest,feeds,packets", "--pool", "solo", "-n", f"{name}@%h"]
        command += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        with (self.logs / f"worker-{name}.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def sending_to(broker_url: str) -> Iterator[None]:
    """Tasks dispatched by this process go to `broker_url`, not run in-process."""
    if connection.vendor != "postgresql":
        service_missing("the fault drills need PostgreSQL (set DATABASE_URL)")
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    _switch_broker(broker_url)
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = saved[0]
        _switch_broker(saved[1])


def _switch_broker(url: str | None) -> None:
    """Point this process's Celery app at `url`, dropping connections to the previous broker
    (the connection pool and the producer pool that holds on to it)."""
    celery_app.conf.broker_url = url  # type: ignore[misc,assignment]
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def workers(private_redis: Any, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes on a Redis server of this test's own (concurrent test runs on the
    machine's Redis cannot take or purge its messages)."""
    broker = private_redis(appendonly=False)
    pool = Workers(broker, tmp_path)
    try:
        with sending_to(broker):
            yield pool
    finally:
        pool.stop_all()


def big_sbom(components: int) -> bytes:
    when = timezone.now() - timedelta(days=1)
    return cyclonedx(when, {f"drill-pkg-{i:06d}": f"1.{i % 97}-1.fc40" for i in range(components)})


def test_a_worker_killed_mid_ingest_leaves_nothing_partial_and_the_next_one_finishes_it(
    workers: Workers,
) -> None:
    host = HostFactory.create(fleet=FleetFactory.create(distribution="fedora-40"))
    first = workers.start("doomed")
    data = big_sbom(60_000)
    doc = sbom_receive(
        organization=host.fleet.organization, data=data, size=len(data), host=host, fleet=host.fleet
    )
    wait_for(
        lambda: SbomDocument.objects.get(pk=doc.pk).status == "processing", "the ingest to start"
    )
    time.sleep(0.5)  # parsing 60,000 components: well inside the ingest
    workers.kill(first)
    killed = SbomDocument.objects.get(pk=doc.pk)
    assert killed.status == "processing", "the worker finished before it was killed"
    assert not PackageInterval.objects.filter(host=host).exists()  # nothing partial

    workers.start("rescuer")
    wait_for(
        lambda: SbomDocument.objects.get(pk=doc.pk).status == "ingested",
        "the redelivered ingest",
        timeout=VISIBILITY_TIMEOUT + 300,
    )
    done = SbomDocument.objects.get(pk=doc.pk)
    assert done.attempts == 2 and done.claimed_by == killed.claimed_by  # the same message
    assert PackageInterval.objects.filter(host=host).count() == 60_000
    assert PackageInterval.objects.filter(host=host, present_until__isnull=True).count() == 60_000


def test_a_worker_killed_mid_render_and_the_packet_is_rendered_once(workers: Workers) -> None:
    fleet = FleetFactory.create(distribution="fedora-40")
    host = HostFactory.create(fleet=fleet)
    data = cyclonedx(timezone.now() - timedelta(days=20), {"openssl": "1:3.2.1-2.fc40"})
    sbom_receive(organization=fleet.organization, data=data, size=len(data), host=host)
    first = workers.start("doomed")
    wait_for(lambda: PackageInterval.objects.filter(host=host).exists(), "the ledger")
    evaluations_before = ControlEvaluation.objects.count()
    today = timezone.now().date()
    packet = packet_request(
        organization=fleet.organization,
        period_start=today - timedelta(days=30),
        period_end=today,
    )
    wait_for(lambda: AuditPacket.objects.get(pk=packet.pk).status == "running", "the render")
    time.sleep(0.3)
    workers.kill(first)
    killed = AuditPacket.objects.get(pk=packet.pk)
    assert killed.status == "running" and not killed.pdf, "rendered before it was killed"
    assert ControlEvaluation.objects.count() == evaluations_before

    workers.start("rescuer")
    wait_for(
        lambda: AuditPacket.objects.get(pk=packet.pk).status == "done",
        "the redelivered render",
        timeout=VISIBILITY_TIMEOUT + 300,
    )
    done = AuditPacket.objects.get(pk=packet.pk)
    assert ControlEvaluation.objects.count() == evaluations_before + 1  # one evaluation
    assert done.evaluation is not None and done.evaluation.status == "done"
    pdf = Path(done.pdf.path).read_bytes()
    assert packet_verify(pdf).ok
    rendered = AuditEvent.objects.filter(
        target_type="evidence.auditpacket", target_id=str(packet.pk), action="packet.rendered"
    )
    assert rendered.count() == 1


def _queue_three(fleet: Any) -> list[int]:
    ids = []
    for n in range(3):
        host = HostFactory.create(fleet=fleet)
        data = big_sbom(50 + n)
        ids.append(
            sbom_receive(organization=fleet.organization, data=data, size=len(data), host=host).pk
        )
    return ids


def test_queued_tasks_survive_a_redis_restart_with_persistence(
    private_redis: Any,
) -> None:
    """As docker-compose runs Redis (appendonly yes): the queue is on disk."""
    url = private_redis(appendonly=True)
    fleet = FleetFactory.create(distribution="fedora-40")
    with sending_to(url):
        ids = _queue_three(fleet)  # no worker yet: queued in Redis
        private_redis.stop()
        url = private_redis(appendonly=True)
        pool = Workers(url, Path(str(settings.MEDIA_ROOT)).parent)
        try:
            pool.start("after-restart")
            wait_for(
                lambda: SbomDocument.objects.filter(pk__in=ids, status="ingested").count() == 3,
                "the three ingests",
            )
        finally:
            pool.stop_all()


def test_without_persistence_the_sweeper_requeues_what_the_restart_lost(
    private_redis: Any, settings: Any
) -> None:
    """A Redis without persistence loses its queue on restart; the database still says what is
    owed, and the sweeper sends it again."""
    url = private_redis(appendonly=False)
    fleet = FleetFactory.create(distribution="fedora-40")
    with sending_to(url):
        ids = _queue_three(fleet)
        private_redis.stop()
        url = private_redis(appendonly=False)
        pool = Workers(url, Path(str(settings.MEDIA_ROOT)).parent)
        try:
            pool.start("after-restart")
            time.sleep(2)
            assert SbomDocument.objects.filter(pk__in=ids, status="queued").count() == 3  # lost
            _switch_broker(url)  # connections to the old server are dead
            settings.SWEEPER_QUEUED_AFTER_SECONDS = 0
            assert work_requeue_stuck()["sbom"] == 3
            wait_for(
                lambda: SbomDocument.objects.filter(pk__in=ids, status="ingested").count() == 3,
                "the swept ingests",
            )
        finally:
            pool.stop_all()
