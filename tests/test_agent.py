"""The host agent, run as a host would run it, pushing to a live portal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.models import SbomDocument
from portal.accounts.tokens import api_token_create
from tests.factories import FleetFactory

AGENT = Path(__file__).resolve().parent.parent / "agent" / "patchproof_agent.py"


def run_agent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(AGENT), *args],
        env={"PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def installed_package_count() -> int:
    if shutil.which("dpkg-query"):
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\n"], capture_output=True, text=True
        ).stdout
        return sum(1 for line in out.splitlines() if line.startswith("ii"))
    out = subprocess.run(["rpm", "-qa"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if not line.startswith("gpg-pubkey"))


def test_dry_run_lists_every_installed_package() -> None:
    result = run_agent("--dry-run", "--host", "ci-runner")
    assert result.returncode == 0, result.stderr
    sbom = json.loads(result.stdout)
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "ci-runner"
    assert len(sbom["components"]) == installed_package_count()
    assert all(c["purl"].startswith(("pkg:deb/", "pkg:rpm/")) for c in sbom["components"])


@pytest.mark.django_db(transaction=True)
def test_agent_pushes_to_a_live_portal(live_server) -> None:
    fleet = FleetFactory.create(slug="runners", distribution="debian-12")
    _, token = api_token_create(organization=fleet.organization, fleet=fleet, name="agent")

    result = run_agent(
        "--url",
        live_server.url,
        "--fleet",
        "runners",
        "--host",
        "ci-01",
        env={"PATCHPROOF_TOKEN": token},
    )

    assert result.returncode == 0, result.stderr
    assert " ingested: " in result.stdout or " queued: " in result.stdout
    doc = SbomDocument.objects.get()
    assert doc.host is not None and doc.host.hostname == "ci-01"
    assert doc.status == "ingested"
    assert doc.component_count == installed_package_count()


def test_agent_reports_a_refused_token(live_server) -> None:
    result = run_agent(
        "--url", live_server.url, "--fleet", "x", env={"PATCHPROOF_TOKEN": "pp_wrong"}
    )
    assert result.returncode != 0
    assert "upload refused (401)" in result.stderr
