"""Patchproof benchmarks: `make bench`. Prints a table and writes bench/results.json.

Runs against PostgreSQL (`DATABASE_URL`, default a `patchproof_bench` database on
127.0.0.1, created if missing), because that is where the figures matter.
"""

from __future__ import annotations

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


def ensure_database() -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    admin = psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if exists.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{config["NAME"]}"')


def main() -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from bench import ingest, skeleton

    results: list[dict[str, Any]] = []
    results += skeleton.run()
    results += ingest.run()

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
    print(f"\nwritten: {ROOT / 'bench' / 'results.json'}")


if __name__ == "__main__":
    main()
