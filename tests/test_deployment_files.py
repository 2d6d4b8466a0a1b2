"""The production stack's compose file is valid and keeps its promises."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parent.parent


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        service_missing("docker-compose (Debian package docker-compose) is not installed")
    assert exe is not None
    return subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_accepted_and_defines_the_stack() -> None:
    result = compose_config({"SECRET_KEY": "a-real-secret-from-the-operator"})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in services:
        assert "healthcheck" in services[name], name
    worker = services["worker"]
    assert "ingest,feeds,packets" in " ".join(worker["command"])
    assert "ports" not in worker and "container_name" not in worker  # --scale worker=N works
    assert {"pgdata", "media"} <= set(config["volumes"])
    for name in ["web", "worker", "beat"]:
        env = services[name]["environment"]
        assert env["DEBUG"] == "0", name
        assert env["SECRET_KEY"] == "a-real-secret-from-the-operator", name
        assert env["DATABASE_URL"].startswith("postgres://"), name


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    result = compose_config({})
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr
