#!/usr/bin/env python3
"""Patchproof host agent: list installed packages as a CycloneDX 1.5 SBOM and push it.

Standard library only, so it runs on any host with Python 3.8+. Reads the package database
with `rpm -qa` (Fedora, Azure Linux, CBL-Mariner, RHEL) or `dpkg-query` (Debian, Ubuntu).

    PATCHPROOF_TOKEN=pp_... patchproof_agent.py --url https://patchproof.example.com \\
        --fleet web-prod [--host NAME] [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

RPM_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"
DPKG_FORMAT = "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n"


def os_release() -> dict:
    values = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.strip().partition("=")
                if key:
                    values[key] = value.strip('"')
    except OSError:
        pass
    return values


def distro_qualifier(release: dict) -> str:
    ident, version = release.get("ID", "linux"), release.get("VERSION_ID", "")
    return f"{ident}-{version}" if version else ident


def rpm_packages(distro: str, vendor: str) -> list[dict]:
    out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["rpm", "-qa", "--queryformat", RPM_FORMAT], check=True, capture_output=True, text=True
    ).stdout
    components = []
    for line in sorted(out.splitlines()):
        name, epoch, version, release, arch = line.split("\t")
        if name == "gpg-pubkey":
            continue
        evr = f"{version}-{release}"
        qualifiers = {"arch": arch, "distro": distro}
        if epoch not in ("(none)", "", "0"):
            qualifiers["epoch"] = epoch
        purl = f"pkg:rpm/{vendor}/{name}@{evr}?{urllib.parse.urlencode(sorted(qualifiers.items()))}"
        components.append({"type": "library", "name": name, "version": evr, "purl": purl})
    return components


def deb_packages(distro: str, vendor: str) -> list[dict]:
    out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["dpkg-query", "-W", "-f", DPKG_FORMAT], check=True, capture_output=True, text=True
    ).stdout
    components = []
    for line in sorted(out.splitlines()):
        name, version, arch, status = line.split("\t")
        if not status.startswith("ii"):
            continue  # removed, or configuration files only
        qualifiers = urllib.parse.urlencode([("arch", arch), ("distro", distro)])
        purl = f"pkg:deb/{vendor}/{name}@{urllib.parse.quote(version, safe='')}?{qualifiers}"
        components.append({"type": "library", "name": name, "version": version, "purl": purl})
    return components


def build_sbom(hostname: str) -> dict:
    release = os_release()
    distro = distro_qualifier(release)
    vendor = release.get("ID", "linux")
    if shutil.which("rpm") and not shutil.which("dpkg-query"):
        components = rpm_packages(distro, vendor)
    elif shutil.which("dpkg-query"):
        components = deb_packages(distro, vendor)
    else:
        raise SystemExit("patchproof-agent: neither rpm nor dpkg-query found on this host")
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "tools": {"components": [{"type": "application", "name": "patchproof-agent"}]},
            "component": {
                "type": "operating-system",
                "name": hostname,
                "version": release.get("VERSION_ID", platform.release()),
                "description": release.get("PRETTY_NAME", ""),
            },
        },
        "components": components,
    }


def push(url: str, token: str, fleet: str, hostname: str, body: bytes) -> dict:
    query = urllib.parse.urlencode({"fleet": fleet, "host": hostname})
    request = urllib.request.Request(  # noqa: S310 - the operator chooses the URL
        f"{url.rstrip('/')}/api/v1/sboms/?{query}",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/vnd.cyclonedx+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:2000]
        raise SystemExit(f"patchproof-agent: upload refused ({exc.code}): {detail}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PATCHPROOF_URL", ""))
    parser.add_argument("--fleet", default=os.environ.get("PATCHPROOF_FLEET", ""))
    parser.add_argument("--host", default=socket.getfqdn())
    parser.add_argument("--dry-run", action="store_true", help="print the SBOM, send nothing")
    args = parser.parse_args(argv)
    sbom = build_sbom(args.host)
    body = json.dumps(sbom, indent=1).encode("utf-8")
    if args.dry_run:
        sys.stdout.write(body.decode("utf-8") + "\n")
        return 0
    token = os.environ.get("PATCHPROOF_TOKEN", "")
    if not (args.url and args.fleet and token):
        parser.error("--url, --fleet and the PATCHPROOF_TOKEN environment variable are required")
    result = push(args.url, token, args.fleet, args.host, body)
    print(f"SBOM {result['id']} {result['status']}: {result['url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
