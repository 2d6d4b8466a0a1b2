"""The host agent (agent/patchproof-agent), run as a host runs it: a separate process."""

from __future__ import annotations

import glob
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from evidence.models import SbomDocument
from portal.accounts.tokens import api_token_create
from tests.factories import FleetFactory

ROOT = Path(__file__).resolve().parent.parent
AGENT = ROOT / "agent" / "patchproof-agent"
VERMIN = ROOT / ".venv" / "bin" / "vermin"
# 39 packages of a real Fedora 40 set and one gpg-pubkey, in the agent's rpm query format.
RPM_RECORDING = Path(__file__).resolve().parent / "data" / "rpm-qa-fedora40.txt"
RPM_QUERYFORMAT = r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n"
FEDORA_OS_RELEASE = """\
NAME="Fedora Linux"
VERSION="40 (Server Edition)"
ID=fedora
VERSION_ID=40
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Server Edition)"
# a comment, and a quoted value with an escaped quote
VARIANT="Server \\"Edition\\""
"""


def run_agent(
    *args: str, env: dict[str, str] | None = None, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """Run the agent with a clean environment: only PATH, plus what the test gives."""
    return subprocess.run(
        [python, str(AGENT), *args],
        env={"PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def installed_package_count() -> int:
    """What the package database says is installed, counted independently of the agent."""
    if shutil.which("dpkg-query"):
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\n"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # 'ii', or 'hi' for a package on hold: the second letter is the current state.
        return sum(1 for line in out.splitlines() if line[1:2] == "i")
    if shutil.which("rpm"):
        out = subprocess.run(
            ["rpm", "-qa", "--qf", "%{NAME}\n"], capture_output=True, text=True, check=True
        ).stdout
        return sum(1 for line in out.splitlines() if line and line != "gpg-pubkey")
    pytest.skip("neither dpkg-query nor rpm on this machine")


def dry_run_sbom(*args: str, env: dict[str, str] | None = None, python: str = sys.executable):
    result = run_agent("--dry-run", *args, env=env, python=python)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def purls(sbom: dict) -> dict[str, str]:
    return {c["name"]: c["purl"] for c in sbom["components"]}


@pytest.fixture
def fedora_host(tmp_path: Path) -> dict[str, str]:
    """Environment of a Fedora 40 host: a fake `rpm` that replays a recorded `rpm -qa`
    (and checks it was asked for the agent's query format), and Fedora's os-release."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    rpm = bin_dir / "rpm"
    rpm.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" != "-qa --qf" ] || [ "$3" != {shlex.quote(RPM_QUERYFORMAT)} ]; then\n'
        '  echo "fake rpm: unexpected arguments: $*" >&2; exit 64\n'
        "fi\n"
        f"exec cat {shlex.quote(str(RPM_RECORDING))}\n"
    )
    rpm.chmod(0o755)
    os_release = tmp_path / "os-release"
    os_release.write_text(FEDORA_OS_RELEASE)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PATCHPROOF_OS_RELEASE": str(os_release),
    }


# --- Python 3.6 compatibility -----------------------------------------------------------------


def test_vermin_finds_nothing_newer_than_python_3_6() -> None:
    result = subprocess.run(
        [str(VERMIN), "--target=3.6-", "--no-tips", "--violations", str(AGENT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "requires" not in result.stdout, result.stdout
    assert "Target versions not met" not in result.stdout, result.stdout


def test_vermin_does_read_the_extensionless_agent(tmp_path: Path) -> None:
    """Guards the test above: a 3.7+ call in a copy of the agent is reported."""
    source = AGENT.read_text()
    broken = source.replace("stdout=subprocess.PIPE, stderr=subprocess.PIPE", "capture_output=True")
    assert broken != source
    copy = tmp_path / "patchproof-agent"
    copy.write_text(broken)
    result = subprocess.run(
        [str(VERMIN), "--target=3.6-", "--no-tips", "--violations", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "capture_output" in result.stdout


def _old_pythons() -> list[str]:
    """Real Python 3.6 / 3.7 interpreters on this machine (pyenv shims only dispatch)."""
    found = {shutil.which(f"python3.{minor}") or "" for minor in (6, 7)}
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found.update(glob.glob(os.path.join(root, "versions", "3.[67].*", "bin", "python3")))
    return sorted(path for path in found if path and "/shims/" not in path)


@pytest.mark.parametrize("python", _old_pythons() or [None])
def test_runs_on_old_pythons(python: str | None, fedora_host: dict[str, str]) -> None:
    if python is None:
        pytest.skip("no Python 3.6 or 3.7 interpreter on this machine (python3.6, pyenv)")
    old = dry_run_sbom("--host", "old", env=fedora_host, python=python)
    new = dry_run_sbom("--host", "old", env=fedora_host)
    assert old["components"] == new["components"]
    assert old["metadata"]["component"] == new["metadata"]["component"]


def test_runs_as_an_executable() -> None:
    result = subprocess.run(
        [str(AGENT), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"patchproof-agent \d+\.\d+\.\d+\n", result.stdout)


# --- this machine's packages ------------------------------------------------------------------


def test_dry_run_lists_exactly_the_installed_packages() -> None:
    if not shutil.which("dpkg-query"):
        pytest.skip("not a dpkg host")
    sbom = dry_run_sbom()

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(sbom)) is None
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["specVersion"] == "1.6"
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", sbom["serialNumber"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sbom["metadata"]["timestamp"])
    tool = sbom["metadata"]["tools"]["components"][0]
    assert tool["name"] == "patchproof-agent" and tool["version"]
    fqdn = socket.getfqdn()
    subject = sbom["metadata"]["component"]
    assert subject["type"] == "operating-system"
    assert subject["name"] == (fqdn if not fqdn.startswith("localhost") else socket.gethostname())
    assert subject["bom-ref"]

    components = sbom["components"]
    assert len(components) == installed_package_count()
    assert len({c["bom-ref"] for c in components}) == len(components)
    for component in components:
        purl = component["purl"]
        assert component["type"] == "library"
        assert component["bom-ref"] == purl
        parsed = PackageURL.from_string(purl)
        assert parsed.to_string() == purl
        assert parsed.type == "deb"
        assert (parsed.name, parsed.version) == (component["name"], component["version"])
    # dpkg versions keep their epoch, unencoded, as the purl deb type says ('1:2.3-4').
    assert any(":" in c["version"] for c in components)
    assert not any("%3A" in c["purl"] for c in components)


def test_output_file_without_a_portal(tmp_path: Path, fedora_host: dict[str, str]) -> None:
    target = tmp_path / "sbom.cdx.json"
    result = run_agent("--output", str(target), "--host", "h1", env=fedora_host)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert len(json.loads(target.read_text())["components"]) == 39


# --- rpm hosts (recorded `rpm -qa`) -----------------------------------------------------------


def test_rpm_host_purls(fedora_host: dict[str, str]) -> None:
    sbom = dry_run_sbom("--host", "web-01.example.com", env=fedora_host)

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(sbom)) is None
    subject = sbom["metadata"]["component"]
    assert subject["name"] == "web-01.example.com"
    assert subject["version"] == "40"
    assert subject["description"] == "Fedora Linux 40 (Server Edition)"
    found = purls(sbom)
    assert len(sbom["components"]) == 39
    assert "gpg-pubkey" not in found
    assert found["openssl-libs"] == (
        "pkg:rpm/fedora/openssl-libs@3.2.2-3.fc40?arch=x86_64&distro=fedora-40&epoch=1"
    )
    assert found["perl-version"] == (
        "pkg:rpm/fedora/perl-version@0.99.32-1.fc40?arch=x86_64&distro=fedora-40&epoch=8"
    )
    assert (
        found["gcc-c++"] == "pkg:rpm/fedora/gcc-c%2B%2B@14.2.1-3.fc40?arch=x86_64&distro=fedora-40"
    )
    assert found["perl-Text-Tabs+Wrap"] == (
        "pkg:rpm/fedora/perl-Text-Tabs%2BWrap@2024.001-1.fc40?arch=noarch&distro=fedora-40"
    )
    assert found["bash"] == "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&distro=fedora-40"
    assert found["ca-certificates"] == (
        "pkg:rpm/fedora/ca-certificates@2024.2.69_v8.0.401-1.0.fc40?arch=noarch&distro=fedora-40"
    )
    for component in sbom["components"]:
        parsed = PackageURL.from_string(component["purl"])
        assert parsed.to_string() == component["purl"]
        assert (parsed.name, parsed.version) == (component["name"], component["version"])


def test_rpm_is_chosen_through_id_like(tmp_path: Path, fedora_host: dict[str, str]) -> None:
    """A derivative (ID_LIKE rhel) is an rpm host even where dpkg-query is also installed."""
    os_release = tmp_path / "derivative-os-release"
    os_release.write_text('ID="Acme"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n')
    sbom = dry_run_sbom("--os-release", str(os_release), env={"PATH": fedora_host["PATH"]})
    assert purls(sbom)["tar"] == "pkg:rpm/acme/tar@1.35-3.fc40?arch=x86_64&distro=acme-9.4&epoch=2"


# --- pushing to a portal ----------------------------------------------------------------------


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
    assert re.fullmatch(r"SBOM \S+ (queued|ingested): http\S+\n", result.stdout), result.stdout
    doc = SbomDocument.objects.get()
    assert doc.host is not None and doc.host.hostname == "ci-01"
    assert doc.status == "ingested", doc.__dict__
    assert doc.component_count == installed_package_count()


@pytest.mark.django_db(transaction=True)
def test_agent_reports_a_refused_token(live_server) -> None:
    result = run_agent(
        "--url", live_server.url, "--fleet", "x", env={"PATCHPROOF_TOKEN": "pp_wrong"}
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line
    prefix = "patchproof-agent: upload refused (HTTP 401): "
    assert line.startswith(prefix), line
    answer = json.loads(line[len(prefix) :])  # the server's own JSON error
    assert isinstance(answer["detail"], str) and answer["detail"]
    assert SbomDocument.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_agent_reports_an_unknown_fleet(live_server, fedora_host: dict[str, str]) -> None:
    fleet = FleetFactory.create(slug="runners")
    _, token = api_token_create(organization=fleet.organization, name="org-wide")
    result = run_agent(
        "--url", live_server.url, "--fleet", "nope", env={**fedora_host, "PATCHPROOF_TOKEN": token}
    )
    assert result.returncode == 2, result.stderr
    assert "upload refused (HTTP 400)" in result.stderr
    assert "nope" in result.stderr


def test_clear_text_http_to_another_host_is_refused(fedora_host: dict[str, str]) -> None:
    env = {**fedora_host, "PATCHPROOF_TOKEN": "pp_secret"}
    result = run_agent("--url", "http://patchproof.example.com", env=env)
    assert result.returncode == 1
    assert "clear text" in result.stderr and "--insecure-http" in result.stderr

    # With --insecure-http it does try: 192.0.2.1 (TEST-NET-1) never answers.
    result = run_agent(
        "--url", "http://192.0.2.1", "--insecure-http", "--timeout", "2", "--host", "h", env=env
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("patchproof-agent: cannot reach http://192.0.2.1/api/v1/")
    assert result.stderr.count("\n") == 1


def test_unreachable_portal_is_a_one_line_error(fedora_host: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**fedora_host, "PATCHPROOF_TOKEN": "pp_secret"}
    result = run_agent("--url", f"http://127.0.0.1:{port}", "--host", "h", env=env)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot reach" in result.stderr
    assert "pp_secret" not in result.stderr


class FakePortal(http.server.BaseHTTPRequestHandler):
    """Answers like the portal's upload API and records every request it receives:
    202 for the token pp_good, 401 for any other, 308 under /moved/."""

    seen: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        if self.path.startswith("/moved/"):
            self._answer(308, b"", Location="http://127.0.0.1:9/elsewhere/")
        elif self.headers.get("Authorization") != "Bearer pp_good":
            self._answer(401, b'{"detail": "Unknown, expired or revoked API token."}')
        else:
            base = f"http://{self.headers['Host']}"
            answer = {"id": 7, "status": "queued", "url": f"{base}/api/v1/sboms/7/"}
            self._answer(202, json.dumps(answer).encode())

    def _answer(self, code: int, body: bytes, **headers: str) -> None:
        self.send_response(code)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_portal() -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []
    handler = type("Handler", (FakePortal,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("python", [sys.executable, *_old_pythons()])
def test_push_protocol(python: str, fake_portal, fedora_host: dict[str, str]) -> None:
    """What goes over the wire, and what each answer becomes, on every Python at hand."""
    url, seen = fake_portal
    env = {**fedora_host, "PATCHPROOF_URL": url + "/", "PATCHPROOF_FLEET": "web prod"}

    result = run_agent("--host", "h1", env={**env, "PATCHPROOF_TOKEN": "pp_good"}, python=python)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"SBOM 7 queued: {url}/api/v1/sboms/7/\n"
    request = seen[-1]
    assert request["path"] == "/api/v1/sboms/?fleet=web+prod&host=h1"
    assert request["headers"]["Authorization"] == "Bearer pp_good"
    assert request["headers"]["Content-Type"] == "application/vnd.cyclonedx+json"
    sent = json.loads(request["body"])
    assert sent["specVersion"] == "1.6" and len(sent["components"]) == 39

    result = run_agent("--host", "h1", env={**env, "PATCHPROOF_TOKEN": "pp_bad"}, python=python)
    assert result.returncode == 2
    assert result.stderr == (
        "patchproof-agent: upload refused (HTTP 401): "
        '{"detail": "Unknown, expired or revoked API token."}\n'
    )

    # A redirect is reported, not followed: following would resend the token.
    moved = {**env, "PATCHPROOF_URL": url + "/moved", "PATCHPROOF_TOKEN": "pp_good"}
    count = len(seen)
    result = run_agent("--host", "h1", env=moved, python=python)
    assert result.returncode == 2
    assert "redirects to http://127.0.0.1:9/elsewhere/" in result.stderr
    assert len(seen) == count + 1


def test_usage_errors(fedora_host: dict[str, str]) -> None:
    result = run_agent(env=fedora_host)
    assert result.returncode == 1
    assert "--url" in result.stderr
    result = run_agent("--url", "https://patchproof.example.com", env=fedora_host)
    assert result.returncode == 1
    assert "PATCHPROOF_TOKEN" in result.stderr
