"""Settings come from the environment, with no unsafe production default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k8Vq2xN7pLr4Tz9Wm3Yc6Hb1Jd5Fs0Ga8Ue2Io7Kn4Rp9Xl3Qv6Zt1Mw5By8Cs",
    "ALLOWED_HOSTS": "patchproof.example.com",
    "SECURE_HSTS_PRELOAD": "1",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The test run's own defaults (pyproject's pytest env) must not leak into "production".
    dropped = {"SECRET_KEY", "DEBUG", "SECURE_SSL_REDIRECT"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_configuration() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_missing_secret_key_is_an_error_with_debug_off() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_malformed_boolean_names_the_variable() -> None:
    result = manage("check", env={**PRODUCTION, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_a_malformed_or_negative_count_names_the_variable() -> None:
    for value, message in (
        ("two", "READ_AHEAD_THREADS='two' is not an integer"),
        ("-1", "READ_AHEAD_THREADS='-1' is below its minimum, 0"),
    ):
        result = manage("check", env={**PRODUCTION, "READ_AHEAD_THREADS": value})
        assert result.returncode != 0
        assert message in result.stderr
    assert manage("check", env={**PRODUCTION, "READ_AHEAD_THREADS": "0"}).returncode == 0
