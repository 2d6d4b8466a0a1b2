"""Load: gunicorn (4 workers) on PostgreSQL, 50 officers browsing and 10 agents uploading SBOMs
for 60 seconds, two Celery workers ingesting.

The database is seeded with the demo (`seed_demo`: two organisations, 190 days of weekly SBOMs,
monthly evaluations). Officers are threads with their own session, each signed in as the demo
officer; they loop over the overview, exposures (plain, filtered, page 2), fleet, host,
advisory, exceptions and packets pages with a think time of 0.2 to 1.0 s. Agents are threads
with their own fleet token, each posting a 300-package CycloneDX SBOM of its own host (new
versions every time, so never a duplicate) with a think time of 1 to 3 s.

Figures: `load_errors` (any answer other than the one expected, or no answer), p95 per
endpoint, `load_dashboard_p95_ms` (over every officer request), `load_upload_p95_ms`, and
`load_ingest_per_min` (uploads of the window that the two workers had ingested when it ended,
per minute). Run alone: `.venv/bin/python bench/load.py` (it uses its own database,
`patchproof_load_bench`, and Redis database 12, both emptied first).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DURATION = 60.0
OFFICERS = 50
AGENTS = 10
PACKAGES = 300
DATABASE = "patchproof_load_bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    def record(self, endpoint: str, started: float, ok: bool, detail: str = "") -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[endpoint].append(elapsed)
            if not ok:
                self.errors[endpoint] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{endpoint}: {detail}")


def _request(opener: Any, url: str, data: bytes | None = None, headers: Any = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


def _officer(base: str, pages: list[tuple[str, str]], stop: float, rec: Recorder) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/accounts/login/", timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    body = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": "officer@acme.example",
            "password": os.environ.get("DEMO_PASSWORD", "patchproof-demo"),
        }
    ).encode()
    status = _request(opener, f"{base}/accounts/login/", body, {"Referer": f"{base}/"})
    assert status in (200, 302), f"sign-in answered {status}"
    rng = random.Random(threading.get_ident())
    while time.monotonic() < stop:
        name, path = rng.choice(pages)
        started = time.perf_counter()
        try:
            status = _request(opener, base + path)
            rec.record(name, started, status == 200, f"HTTP {status}")
        except OSError as exc:
            rec.record(name, started, False, repr(exc))
        time.sleep(rng.uniform(0.2, 1.0))


def _sbom(host: str, round_no: int) -> bytes:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    components = [
        {
            "type": "library",
            "name": f"load-pkg-{i:04d}",
            "version": f"1.{round_no}-{i % 7}.azl4",
            "purl": (
                f"pkg:rpm/azurelinux/load-pkg-{i:04d}@1.{round_no}-{i % 7}.azl4"
                "?arch=x86_64&distro=azurelinux-4.0"
            ),
        }
        for i in range(PACKAGES)
    ]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"timestamp": now, "component": {"type": "operating-system", "name": host}},
        "components": components,
    }
    return json.dumps(document).encode()


def _agent(base: str, token: str, n: int, stop: float, rec: Recorder, ids: list[int]) -> None:
    opener = urllib.request.build_opener()
    host = f"load-{n:02d}.acme.example"
    url = f"{base}/api/v1/sboms/?fleet=web-prod&host={host}"
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/vnd.cyclonedx+json",
    }
    rng = random.Random(n)
    round_no = 0
    while time.monotonic() < stop:
        round_no += 1
        request = urllib.request.Request(  # noqa: S310
            url, data=_sbom(host, round_no), headers=headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with opener.open(request, timeout=30) as response:
                answer = json.loads(response.read())
                rec.record("upload", started, response.status == 202)
                with rec.lock:
                    ids.append(int(answer["id"]))
        except urllib.error.HTTPError as exc:
            rec.record("upload", started, False, f"HTTP {exc.code} {exc.read()[:200]!r}")
        except OSError as exc:
            rec.record("upload", started, False, repr(exc))
        time.sleep(rng.uniform(1.0, 3.0))


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _statuses(env: dict[str, str], ids: list[int]) -> dict[str, int]:
    script = (
        "import json; from django.db.models import Count; "
        "from evidence.models import SbomDocument; "
        f"rows = SbomDocument.objects.filter(pk__in={ids!r}).values_list('status')"
        ".annotate(n=Count('pk')); print(json.dumps(dict(rows)))"
    )
    return dict(json.loads(_manage(env, "shell", "-v", "0", "-c", script).strip().splitlines()[-1]))


def measure() -> dict[str, Any]:
    import psycopg
    import redis

    pg = os.environ.get("LOAD_PG", "postgres://postgres@127.0.0.1:5432")
    redis_url = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/12")
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    redis.Redis.from_url(redis_url).flushdb()
    media = tempfile.mkdtemp(prefix="patchproof-load-media-")
    env = {
        **os.environ,
        "DATABASE_URL": f"{pg}/{DATABASE}",
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": media,
        "PACKET_SIGNING_KEY_FILE": str(Path(media) / "keys" / "signing.pem"),
        "SECRET_KEY": "load-bench-only",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
    }
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage({**env, "DEBUG": "1"}, "seed_demo")
    tokens = [
        _manage(
            env, "create_api_token", "--org", "acme", "--fleet", "web-prod", "--name", f"load-{n}"
        )
        .strip()
        .split()[-1]
        for n in range(AGENTS)
    ]
    page_ids = json.loads(
        _manage(
            env,
            "shell",
            "-v",
            "0",
            "-c",
            "import json; from evidence.models import Exposure, Host; "
            "e = Exposure.objects.filter(organization__slug='acme').order_by('pk').first(); "
            "h = Host.objects.filter(fleet__organization__slug='acme').order_by('pk').first(); "
            "print(json.dumps([e.advisory_id, h.pk]))",
        )
        .strip()
        .splitlines()[-1]
    )
    pages = [
        ("overview", "/o/acme/"),
        ("exposures", "/o/acme/exposures/"),
        ("exposures_filtered", "/o/acme/exposures/?status=open&sort=-due"),
        ("exposures_page2", "/o/acme/exposures/?page=2"),
        ("fleet", "/o/acme/fleets/web-prod/"),
        ("host", f"/o/acme/hosts/{page_ids[1]}/"),
        ("advisory", f"/o/acme/advisories/{page_ids[0]}/"),
        ("exceptions", "/o/acme/exceptions/"),
        ("packets", "/o/acme/packets/"),
    ]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    web = [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}"]
    worker = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo"]
    worker += ["-Q", "ingest,feeds,packets", "--without-gossip", "--without-mingle"]
    processes = [
        subprocess.Popen(
            [*web, "--workers", "4"], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        *(
            subprocess.Popen(
                [*worker, "-n", f"load{n}@%h", "--loglevel", "WARNING"], cwd=ROOT, env=env,
                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for n in range(2)
        ),
    ]  # fmt: skip
    rec = Recorder()
    ids: list[int] = []
    try:
        _wait_http(f"{base}/healthz", 60)
        time.sleep(3)  # the workers connect to the broker
        stop = time.monotonic() + DURATION
        threads = [
            threading.Thread(target=_officer, args=(base, pages, stop, rec), daemon=True)
            for _ in range(OFFICERS)
        ] + [
            threading.Thread(target=_agent, args=(base, tokens[n], n, stop, rec, ids), daemon=True)
            for n in range(AGENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION + 60)
        statuses = _statuses(env, ids)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    dashboard = [v for name, values in rec.latencies.items() if name != "upload" for v in values]
    return {
        "errors": sum(rec.errors.values()),
        "error_examples": rec.examples,
        "requests": sum(len(v) for v in rec.latencies.values()),
        "p95_by_endpoint": {k: round(_p95(v), 1) for k, v in sorted(rec.latencies.items())},
        "dashboard_p95_ms": round(_p95(dashboard), 1),
        "upload_p95_ms": round(_p95(rec.latencies.get("upload", [])), 1),
        "uploads": len(ids),
        "statuses": statuses,
        "ingest_per_min": round(statuses.get("ingested", 0) / (DURATION / 60), 1),
    }


def run() -> list[dict[str, Any]]:
    figures = measure()
    per_endpoint = ", ".join(f"{k} {v}" for k, v in figures["p95_by_endpoint"].items())
    load = f"{OFFICERS} officers and {AGENTS} agents for {DURATION:.0f} s; gunicorn 4 workers"
    return [
        {
            "name": "load_errors",
            "value": figures["errors"],
            "unit": "requests",
            "target": "0",
            "note": f"{load}; {figures['requests']} requests"
            + (f"; e.g. {figures['error_examples'][:3]}" if figures["errors"] else ""),
        },
        {
            "name": "load_dashboard_p95_ms",
            "value": figures["dashboard_p95_ms"],
            "unit": "ms",
            "note": f"p95 per page (ms): {per_endpoint}",
        },
        {
            "name": "load_upload_p95_ms",
            "value": figures["upload_p95_ms"],
            "unit": "ms",
            "note": f"{figures['uploads']} SBOMs of {PACKAGES} packages posted (202 expected)",
        },
        {
            "name": "load_ingest_per_min",
            "value": figures["ingest_per_min"],
            "unit": "SBOMs/min",
            "note": f"two solo-pool Celery workers; states at the end: {figures['statuses']}",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
