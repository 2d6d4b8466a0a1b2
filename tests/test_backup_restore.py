"""Backup and restore as the README describes them: `pg_dump -Fc` of the database and an
archive of the media folder, restored into a new database and folder. The restored portal
serves the stored packet byte for byte (and it verifies), its audit chain is intact, and a new
packet built from the restored evidence verifies too."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from evidence.ingest import sbom_receive
from evidence.packets.build import packet_request
from tests.conftest import service_missing
from tests.factories import FleetFactory, HostFactory
from tests.test_matching import cyclonedx

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def _pg(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        service_missing(f"{tool} (PostgreSQL client) is not installed")
    return str(exe)


@pytest.fixture
def restore_db() -> Iterator[dict[str, Any]]:
    if connection.vendor != "postgresql":
        service_missing("backup and restore are PostgreSQL's (set DATABASE_URL)")
    db = connection.settings_dict
    where = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": str(db.get("PORT") or 5432),
        "user": db.get("USER") or "postgres",
        "source": db["NAME"],
        "target": f"{db['NAME']}_restored",
    }
    args = ["-h", where["host"], "-p", where["port"], "-U", where["user"]]
    subprocess.run([_pg("dropdb"), *args, "--if-exists", where["target"]], check=True)
    subprocess.run([_pg("createdb"), *args, where["target"]], check=True)
    where["args"] = args
    yield where
    subprocess.run([_pg("dropdb"), *args, "--if-exists", "--force", where["target"]], check=True)


def test_a_restored_backup_serves_and_reproduces_packets_that_verify(
    restore_db: dict[str, Any], tmp_path: Path
) -> None:
    fleet = FleetFactory.create(distribution="fedora-40", slug="web")
    host = HostFactory.create(fleet=fleet)
    data = cyclonedx(timezone.now() - timedelta(days=10), {"openssl": "1:3.2.1-2.fc40"})
    sbom_receive(organization=fleet.organization, data=data, size=len(data), host=host)
    today = timezone.now().date()
    packet = packet_request(
        organization=fleet.organization, period_start=today - timedelta(days=30), period_end=today
    )
    packet.refresh_from_db()
    assert packet.status == "done"

    # Backup: the database in PostgreSQL's custom format, the media folder as an archive.
    dump = tmp_path / "patchproof.dump"
    subprocess.run(
        [_pg("pg_dump"), *restore_db["args"], "-Fc", "-f", str(dump), restore_db["source"]],
        check=True,
    )
    media = shutil.make_archive(str(tmp_path / "media"), "gztar", settings.MEDIA_ROOT)

    # Restore into a new database and a new folder.
    restore = [_pg("pg_restore"), *restore_db["args"], "--no-owner", "-d", restore_db["target"]]
    subprocess.run([*restore, str(dump)], check=True)
    restored_media = tmp_path / "restored-media"
    shutil.unpack_archive(media, restored_media)
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{restore_db['user']}@{restore_db['host']}:{restore_db['port']}/"
            f"{restore_db['target']}"
        ),
        "MEDIA_ROOT": str(restored_media),
        "PACKET_SIGNING_KEY_FILE": str(settings.PACKET_SIGNING_KEY_FILE),
        "SECRET_KEY": "restore-drill-only",
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    show = (
        "from evidence.models import AuditPacket; "
        f"p = AuditPacket.objects.get(pk={packet.pk}); print(p.pdf.path); print(p.sha256)"
    )
    where = manage("shell", "-v", "0", "-c", show)
    assert where.returncode == 0, where.stderr
    path, sha256 = where.stdout.split()[-2:]
    assert Path(path).is_relative_to(restored_media)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha256 == packet.sha256
    verified = manage("verify_packet", path, "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["valid"] is True and report["packet"] == packet.pk

    chain = manage("verify_audit_log")
    assert chain.returncode == 0, chain.stdout + chain.stderr

    period = ["--start", str(today - timedelta(days=30)), "--end", str(today)]
    out = ["--out", str(tmp_path / "out"), "--json"]
    rebuilt = manage("build_packet", "--org", fleet.organization.slug, *period, *out)
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = manage("verify_packet", json.loads(rebuilt.stdout)["path"])
    assert again.returncode == 0, again.stdout + again.stderr
