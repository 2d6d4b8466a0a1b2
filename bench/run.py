"""Patchproof benchmarks: `make bench`. Prints a table and writes bench/results.json.

`bench/run.py feeds ingest` runs only the benches named (and writes nothing).

Runs against PostgreSQL (`DATABASE_URL`, default a `patchproof_bench` database on
127.0.0.1), because that is where the figures matter. That database is dropped, created and
migrated afresh for every run, so that the figures do not depend on what earlier runs left in
it (see `fresh_database`).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/patchproof_bench")
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="patchproof-bench-media-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")


def fresh_database() -> None:
    """Drop and create the bench database, so that every run starts from the same empty,
    migrated schema. Only a database whose name ends in `_bench` is ever dropped (one named
    otherwise is used as it is), and BENCH_KEEP_DATABASE=1 keeps it too."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    name = config["NAME"]
    droppable = name.endswith("_bench") and os.environ.get("BENCH_KEEP_DATABASE", "") in ("", "0")
    admin = psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    quoted = '"' + name.replace('"', '""') + '"'
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and droppable:
            admin.execute(f"DROP DATABASE {quoted} WITH (FORCE)")
        if not exists or droppable:
            admin.execute(f"CREATE DATABASE {quoted}")
    if not droppable:
        print(f"note: benchmarking in the existing database {name!r}, not a fresh one")


def main() -> None:
    fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from bench import dashboard, feeds, ingest, load, matching, packet, skeleton

    benches = {
        "skeleton": skeleton,
        "ingest": ingest,
        "feeds": feeds,
        "matching": matching,
        "packet": packet,
        "dashboard": dashboard,
        "load": load,  # its own database and processes (gunicorn, two workers)
    }
    chosen = sys.argv[1:] or list(benches)
    unknown = [name for name in chosen if name not in benches]
    if unknown:
        raise SystemExit(f"unknown bench {', '.join(unknown)}; choose from {', '.join(benches)}")
    results: list[dict[str, Any]] = []
    for name in chosen:
        # What earlier benches left alive is put out of the garbage collector's reach, so that
        # a bench's figures (its baseline's json.loads above all, which runs with the collector
        # on) do not depend on which benches ran before it in this process.
        gc.collect()
        gc.freeze()
        results += benches[name].run()

    # Only a full run replaces the recorded figures: a partial one (`bench/run.py feeds`) is
    # for working on one figure and only prints.
    if chosen == list(benches):
        (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    headers = ["name", "value", "baseline", "ratio", "target", "note"]
    rows = [
        [
            r["name"],
            f"{r['value']} {r['unit']}",
            "" if r.get("baseline") is None else f"{r['baseline']} {r['unit']}",
            "" if r.get("ratio") is None else str(r["ratio"]),
            r.get("target") or "",
            r.get("note") or "",
        ]
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    if chosen == list(benches):
        print(f"\nwritten: {ROOT / 'bench' / 'results.json'}")


if __name__ == "__main__":
    main()
