"""Ingest benchmarks (issue 3), against PostgreSQL.

- ingest_10k_cyclonedx: a realistic 10,000-component CycloneDX JSON (rpm purls, nested
  components, hashes) ingested for a new host (`sbom_ingest`: decompress, parse, validate,
  packages, ledger), against a baseline measured in the same run: `json.loads` of the same
  file plus `COPY` of 10,000 rows into a temporary table. Target: ratio <= 2.0.
- reingest_20_changes: the same host's next snapshot with 20 packages changed. Target <= 50 ms.
- ingest_10k_parse_only, ingest_10k_ledger_only: the two halves of ingest_10k_cyclonedx, against
  the same baseline, to show where its time goes: `sbom_parse` of the document alone (no
  database), and the ledger's writes alone (`snapshot_apply` of the parsed components for a
  new host, all packages new, and the commit: what the ingest writes, with no parsing).
- ingest_10k_copy_only: the database's share of the ledger's writes alone: the same 10,000
  package rows and 10,000 interval rows, made beforehand, COPYed into the real tables (ids from
  the sequence) and committed, as `_packages_insert` and `_insert_intervals` write them; what
  no change to the Python side can take below.
- ingest_10k_decode_validate: the part of parsing done by libraries alone: orjson.loads and the
  CycloneDX 1.6 schema check (jsonschema_rs) of the document, which every ingest and re-ingest
  does before reading a component; a floor under reingest_20_changes.
- ingest_100k_peak_rss: peak resident memory of a fresh process (Django loaded) that runs
  `sbom_ingest` on a stored 100,000-component document, as a worker does; the document is
  generated and received by the bench process. Target <= 300 MB.

The ingests are timed as a worker runs them: tasks they dispatch (the exposure matching of a
committed snapshot) are queued, not run inline (see `tasks_queued`). bench/run.py gives every
run a freshly created database.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def generated_sbom(
    components: int, *, changed: int = 0, when: datetime | None = None, seed: str = "b"
) -> bytes:
    """A host SBOM like the agent writes, with every tenth package carrying two nested
    sub-packages (so 10,000 components are 1,000 + 9,000 nested... no: `components` in all)."""
    when = when or datetime(2026, 11, 1, tzinfo=UTC)
    items: list[dict[str, Any]] = []
    parent: dict[str, Any] | None = None
    for i in range(components):
        version = f"{1 + i % 7}.{i % 13}.{i % 5}-{2 if i < changed else 1}.fc40"
        name = f"{seed}pkg{i:06d}"
        component = {
            "type": "library",
            "bom-ref": f"ref-{i}",
            "name": name,
            "version": version,
            "purl": f"pkg:rpm/fedora/{name}@{version}?arch=x86_64&distro=fedora-40",
            "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
            "licenses": [{"license": {"id": "MIT"}}],
        }
        if i % 10 == 0 or parent is None:
            items.append(component)
            parent = component
        else:
            parent.setdefault("components", []).append(component)
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": when.isoformat().replace("+00:00", "Z"),
            "component": {"type": "operating-system", "name": "bench-host"},
        },
        "components": items,
    }
    return json.dumps(doc).encode()


def median_time(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[len(samples) // 2]


def _baseline(data: bytes, rows: int) -> float:
    from django.db import connection, transaction

    def run() -> None:
        json.loads(data)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_copy (host_id bigint, package_id bigint, "
                "present_from timestamptz, present_until timestamptz, opened_by_id bigint, "
                "closed_by_id bigint) ON COMMIT DROP"
            )
            now = datetime.now(UTC)
            with cursor.cursor.copy("COPY bench_copy FROM STDIN") as copy:
                for i in range(rows):
                    copy.write_row((1, i, now, None, 1, None))

    return median_time(run, 5)


@contextmanager
def tasks_queued() -> Iterator[list[str]]:
    """Tasks dispatched meanwhile are recorded, as a worker's broker would queue them, instead
    of run: without REDIS_URL tasks run eagerly, in the caller, so the exposure matching that
    `sbom_ingest` dispatches once its snapshot is committed (a task of its own, on its own
    queue in production) would otherwise be timed as part of the ingest."""
    from celery.app.task import Task

    queued: list[str] = []
    original = Task.apply_async

    def enqueue(task: Task, *args: Any, **kwargs: Any) -> None:
        queued.append(task.name)

    Task.apply_async = enqueue  # type: ignore[assignment,method-assign]
    try:
        yield queued
    finally:
        Task.apply_async = original  # type: ignore[method-assign]


def _ingest_once(org: Any, fleet: Any, hostname: str, data: bytes) -> float:
    from evidence.ingest import host_resolve, sbom_ingest, sbom_receive

    host = host_resolve(fleet=fleet, hostname=hostname)
    doc = sbom_receive(organization=org, data=data, size=len(data), host=host, dispatch=False)
    with tasks_queued():
        start = time.perf_counter()
        result = sbom_ingest(document_id=doc.pk)
        elapsed = time.perf_counter() - start
    if result.status != "ingested":
        raise RuntimeError(f"bench SBOM not ingested: {result.status} {result.error}")
    return elapsed


def _parse_only(data: bytes) -> float:
    from evidence.ingest import sbom_limits
    from evidence.sbom import sbom_parse

    return median_time(lambda: sbom_parse(data, limits=sbom_limits()), 5)


def _decode_validate(data: bytes) -> float:
    """orjson.loads and the schema check, as `sbom_parse` runs them (the collector paused)."""
    import orjson

    from evidence.sbom.findings import Findings
    from evidence.sbom.jsondoc import gc_paused
    from evidence.sbom.schemas import json_schema_check

    def run() -> None:
        with gc_paused():
            if not json_schema_check(orjson.loads(data), "1.6", Findings()):
                raise RuntimeError("the bench document is not valid CycloneDX 1.6")

    run()  # the validator is compiled once per process, as in a worker
    return median_time(run, 5)


def _new_host_snapshot(org: Any, fleet: Any, label: str) -> tuple[Any, Any, list[Any]]:
    """A new host, a received (not ingested) 10,000-component document of its own, all its
    packages new, and that document's parsed components: what the ledger figures write."""
    from evidence.ingest import host_resolve, sbom_limits, sbom_receive
    from evidence.sbom import sbom_parse

    data = generated_sbom(10_000, seed=f"{label}{time.time_ns()}")
    host = host_resolve(fleet=fleet, hostname=f"{label}-{time.time_ns()}")
    doc = sbom_receive(organization=org, data=data, size=len(data), host=host, dispatch=False)
    return host, doc, list(sbom_parse(data, limits=sbom_limits()).components)


_SNAPSHOT_AT = datetime(2026, 11, 1, tzinfo=UTC)


def _copy_only(org: Any, fleet: Any, repeat: int = 3) -> float:
    """Median time of the database writes of a new host's 10,000 new packages and their
    intervals, the rows made (with the ledger's own `_package_row`) before the clock starts:
    ids from the package sequence, COPY of the packages (text, as `_packages_insert`), binary
    COPY of the intervals (as `_insert_intervals`), and the commit with its deferred
    foreign-key checks."""
    from django.db import connection, transaction

    from evidence.ledger import (
        _INTERVAL_TYPES,
        _PACKAGE_COLUMNS,
        _json_text,
        _package_row,
        purl_hash,
    )
    from evidence.models import Package, PackageInterval

    packages, intervals = Package._meta.db_table, PackageInterval._meta.db_table
    samples = []
    for _ in range(repeat):
        host, doc, components = _new_host_snapshot(org, fleet, "copy")
        rows = [_package_row(c, purl_hash(c.purl), _json_text) for c in components]
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id')::regclass)) "
                "FROM generate_series(1, %s)",
                [packages, len(rows)],
            )
            pks = [pk for (pk,) in cursor.fetchall()]
            raw = cursor.cursor
            with raw.copy(f"COPY {packages} (id, {_PACKAGE_COLUMNS}) FROM STDIN") as copy:
                for pk, row in zip(pks, rows, strict=True):
                    copy.write_row((pk, *row))
            with raw.copy(
                f"COPY {intervals} (host_id, package_id, present_from, present_until, "
                "opened_by_id, closed_by_id) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_INTERVAL_TYPES)
                for pk in pks:
                    copy.write_row((host.pk, pk, _SNAPSHOT_AT, None, doc.pk, None))
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]


def _ledger_only(org: Any, fleet: Any, repeat: int = 3) -> float:
    """Median time of writing a parsed 10,000-component snapshot for a new host whose packages
    are all new: `snapshot_apply` in a transaction with the host locked, and the commit (the
    deferred foreign-key checks run there). The collector is paused, as `sbom_ingest` pauses
    it."""
    from django.db import transaction

    from evidence.ledger import snapshot_apply
    from evidence.models import Host
    from evidence.sbom.jsondoc import gc_paused

    samples = []
    for _ in range(repeat):
        host, doc, components = _new_host_snapshot(org, fleet, "ledger")
        start = time.perf_counter()
        with gc_paused(), transaction.atomic():
            locked = Host.objects.select_for_update().get(pk=host.pk)
            snapshot_apply(host=locked, document=doc, taken_at=_SNAPSHOT_AT, components=components)
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]


def peak_rss_child(org: Any, fleet: Any, components: int) -> float:
    """Peak RSS in MB of a fresh process (Django loaded) running `sbom_ingest` on a stored
    document of `components` components: what a worker needs. The document is generated and
    received here, in the bench process, so that neither the generator's dicts nor the upload
    side count."""
    from evidence.ingest import host_resolve, sbom_receive

    data = generated_sbom(components, seed=f"m{time.time_ns()}")
    host = host_resolve(fleet=fleet, hostname=f"mem-{time.time_ns()}")
    doc = sbom_receive(organization=org, data=data, size=len(data), host=host, dispatch=False)
    del data
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.ingest import child_ingest; "
        f"child_ingest({doc.pk})"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(done.stdout.split("peak_rss_kb=")[-1]) / 1024


def _peak_rss_kb() -> int:
    """This process's own peak RSS. Not getrusage: on Linux its ru_maxrss also counts the
    memory of the process that forked it, up to the exec (the bench process, here)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_ingest(document_id: int) -> None:
    """Run in a child process by `peak_rss_child`."""
    import django

    django.setup()
    from evidence.ingest import sbom_ingest

    with tasks_queued():
        result = sbom_ingest(document_id=document_id)
    if result.status != "ingested":
        raise RuntimeError(f"bench SBOM not ingested: {result.status} {result.error}")
    print(f"peak_rss_kb={_peak_rss_kb()}")


def run() -> list[dict[str, Any]]:
    """Measure the three figures; returns result rows."""
    from evidence.models import Fleet
    from portal.accounts.models import Organization

    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    fleet, _ = Fleet.objects.get_or_create(
        organization=org, slug="bench", defaults={"name": "Bench", "distribution": "fedora-40"}
    )
    results = []

    samples = []
    base_data = generated_sbom(10_000, seed="base")
    baseline = _baseline(base_data, 10_000)
    for attempt in range(3):
        # New packages and a new host each time: the worst case, nothing shared yet.
        data = generated_sbom(10_000, seed=f"s{time.time_ns()}{attempt}")
        samples.append(_ingest_once(org, fleet, f"bench-{time.time_ns()}", data))
    ingest = sorted(samples)[1]
    results.append(
        {
            "name": "ingest_10k_cyclonedx",
            "value": round(ingest * 1000, 1),
            "unit": "ms",
            "baseline": round(baseline * 1000, 1),
            "ratio": round(ingest / baseline, 2),
            "target": "ratio <= 2.0",
            "note": f"{10_000 / ingest:,.0f} components/s; baseline json.loads + COPY",
        }
    )

    for name, seconds, what in (
        ("ingest_10k_parse_only", _parse_only(base_data), "sbom_parse of the document alone"),
        (
            "ingest_10k_decode_validate",
            _decode_validate(base_data),
            "orjson.loads + the CycloneDX 1.6 schema check alone (a floor under any ingest)",
        ),
        (
            "ingest_10k_ledger_only",
            _ledger_only(org, fleet),
            "the ledger's writes alone (snapshot_apply + commit; no parsing)",
        ),
        (
            "ingest_10k_copy_only",
            _copy_only(org, fleet),
            "the database's share of those writes: the same rows, made beforehand, COPYed "
            "into the real tables and committed",
        ),
    ):
        results.append(
            {
                "name": name,
                "value": round(seconds * 1000, 1),
                "unit": "ms",
                "baseline": round(baseline * 1000, 1),
                "ratio": round(seconds / baseline, 2),
                "target": None,
                "note": f"{what}: a part of ingest_10k_cyclonedx, against its baseline",
            }
        )

    hostname = f"reingest-{time.time_ns()}"
    seed = f"r{time.time_ns()}"
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _ingest_once(org, fleet, hostname, generated_sbom(10_000, seed=seed, when=t0))
    reingest = []
    for step in range(1, 4):
        data = generated_sbom(10_000, seed=seed, changed=20 * step, when=t0 + timedelta(days=step))
        reingest.append(_ingest_once(org, fleet, hostname, data))
    value = sorted(reingest)[1]
    results.append(
        {
            "name": "reingest_20_changes",
            "value": round(value * 1000, 1),
            "unit": "ms",
            "baseline": None,
            "ratio": None,
            "target": "<= 50 ms",
            "note": "10,000-package host, 20 packages upgraded since its last snapshot",
        }
    )

    rss = peak_rss_child(org, fleet, 100_000)
    results.append(
        {
            "name": "ingest_100k_peak_rss",
            "value": round(rss, 1),
            "unit": "MB",
            "baseline": None,
            "ratio": None,
            "target": "<= 300 MB",
            "note": "peak RSS of a fresh process (Django loaded) running sbom_ingest on a stored "
            "100,000-component document",
        }
    )
    return results
