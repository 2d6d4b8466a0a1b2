"""PostgreSQL restarted under a running portal: a PostgreSQL cluster of the test's own (so the
machine's server, which other runs use, is never touched), gunicorn and a Celery worker as
separate processes.

While the database is down: `/readyz` answers 503, pages answer a plain 503 (no stack trace,
no exception name). After it is back: the same processes serve pages and run tasks again,
without a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, service_missing
from tests.test_faults import wait_for

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    exe = shutil.which(name)
    if exe is None:
        service_missing(f"PostgreSQL's {name} is not installed")
    return str(exe)


class Cluster:
    """A throwaway PostgreSQL cluster on a free port, run as `postgres` when we are root."""

    def __init__(self, base: Path) -> None:
        self.dir = base / "pgdata"
        self.port = free_port()
        self.log = base / "postgres.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:  # initdb refuses root; pytest's own temp tree is root-only
            shutil.chown(base, "postgres")

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")

    def create(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres")
        self.start()
        where = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self._run(_pg_bin("createdb"), *where, "patchproof")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.dir),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/patchproof"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if shutil.which("runuser") is None and os.geteuid() == 0:
        service_missing("runuser is needed to run a private PostgreSQL as root")
    base = Path(tempfile.mkdtemp(prefix="patchproof-pg-"))
    pg = Cluster(base)
    try:
        pg.create()
        yield pg
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped
            pg.stop()
        shutil.rmtree(base, ignore_errors=True)


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout


QUEUE_ONE = """
from evidence.ingest import sbom_receive
from evidence.models import Fleet
from portal.accounts.models import Organization
from tests.test_matching import cyclonedx
from django.utils import timezone
org, _ = Organization.objects.get_or_create(slug="drill", defaults={"name": "Drill"})
fleet, _ = Fleet.objects.get_or_create(organization=org, slug="f", defaults={"name": "F"})
data = cyclonedx(timezone.now(), {"openssl": "1:3.2.1-2.fc40"})
print(sbom_receive(organization=org, fleet=fleet, data=data, size=len(data)).pk)
"""


def test_postgres_restart_gives_503_then_recovers_without_restarting_anything(
    cluster: Cluster, private_redis: Any, tmp_path: Path
) -> None:
    broker = private_redis(appendonly=False)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "REDIS_URL": broker,
        "SECRET_KEY": "outage-drill-only",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    _manage(env, "migrate", "--noinput", "-v", "0")
    web = [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"]
    worker = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo"]
    worker += ["-Q", "ingest,feeds,packets", "--without-gossip", "--without-mingle"]
    processes = [
        subprocess.Popen(  # the web service, as the Docker image runs it
            [*web, "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "gunicorn.log").open("ab"),
            start_new_session=True,
        ),
        subprocess.Popen(
            worker,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("ab"),
            start_new_session=True,
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/healthz")[0] == 200 if _up(base) else False, "gunicorn")
        assert _get(f"{base}/readyz")[0] == 200
        assert _get(f"{base}/accounts/login/")[0] == 200

        cluster.stop()
        status, body = _get(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["database"].startswith("database unreachable")
        # A page that needs no database still serves; one that does answers a plain 503.
        assert _get(f"{base}/accounts/login/")[0] == 200
        token = {"Authorization": "Bearer pp_not-a-real-token"}
        for path in ("/api/v1/fleets/", "/api/v1/sboms/"):
            status, body = _get(f"{base}{path}", **token)
            assert status == 503, (path, status)
            assert "Temporarily unavailable" in body
            assert "Traceback" not in body and "OperationalError" not in body

        cluster.start()
        wait_for(lambda: _get(f"{base}/readyz")[0] == 200, "readiness after the restart")
        assert _get(f"{base}/accounts/login/")[0] == 200
        # The worker, started before the outage, takes new work without a restart.
        doc_id = int(_manage(env, "shell", "-v", "0", "-c", QUEUE_ONE).strip())
        check = f"from evidence.models import SbomDocument; print(SbomDocument.objects.get(pk={doc_id}).status)"  # noqa: E501
        wait_for(
            lambda: _manage(env, "shell", "-v", "0", "-c", check).strip() == "ingested",
            "the ingest",
        )
        assert all(process.poll() is None for process in processes)  # nothing restarted
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


def _up(base: str) -> bool:
    try:
        _get(f"{base}/healthz")
    except OSError:
        return False
    return True
