"""Shared fixtures: service availability, the media directory, eager tasks, personas."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from portal.celery import app as celery_app

IN_CI = os.environ.get("CI") == "true"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
DATA = Path(__file__).resolve().parent / "data"


def service_missing(reason: str) -> None:
    """Fail in CI (where every service must be there), skip elsewhere, with the reason."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _ci_uses_postgresql(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    if IN_CI and django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("CI=true but the tests are not running on PostgreSQL (set DATABASE_URL)")
    yield
    # Before the test database is dropped: the read-ahead helpers' connections would keep it.
    from portal.read_ahead import read_ahead_close

    read_ahead_close()


@pytest.fixture
def redis_url() -> str:
    """The Redis URL the tests may use; skipped (or failed in CI) when Redis does not answer."""
    import redis

    url = django_settings.REDIS_URL or os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} is unreachable ({exc})")
    return url


@pytest.fixture(autouse=True)
def _media_root(settings: object, tmp_path: Path) -> Iterator[None]:
    settings.MEDIA_ROOT = str(tmp_path / "media")  # type: ignore[attr-defined]
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (see test_worker.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES


def pdftotext(path: Path) -> str:
    """The text of a PDF as poppler's pdftotext reads it, whitespace runs folded to one space
    (table cells wrap, so a name may span lines)."""
    import subprocess

    exe = shutil.which("pdftotext")
    if exe is None:
        service_missing("pdftotext (Debian package poppler-utils) is not installed")
    assert exe is not None
    raw = subprocess.run([exe, str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(raw.split())


def database_url() -> str:
    """The URL of the test database (for a subprocess's DATABASE_URL, or a connection of a
    test's own, outside Django's)."""
    from django.db import connection

    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until(check: Any, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("redis-server did not answer")
        time.sleep(0.05)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start (and restart) a redis-server of our own, so restarting it disturbs nobody."""
    exe = shutil.which("redis-server")
    if exe is None:
        service_missing("redis-server is not installed")
    port = free_port()
    running: list[subprocess.Popen[bytes]] = []

    def start(*, appendonly: bool) -> str:
        process = subprocess.Popen(
            [
                str(exe),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if appendonly else "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        running.append(process)
        url = f"redis://127.0.0.1:{port}/0"
        import redis

        _wait_until(lambda: _pings(redis, url), 20)
        return url

    def stop() -> None:
        for process in running:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=20)

    start.stop = stop  # type: ignore[attr-defined]
    yield start
    stop()


def _pings(redis: Any, url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False
