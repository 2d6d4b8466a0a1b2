"""The PDF path: build_packet renders with WeasyPrint; the fetcher serves only our statics."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.ingest import host_resolve, sbom_ingest, sbom_receive
from evidence.packets.fetcher import BASE_URL, FetchRefused, StaticOnlyFetcher
from tests.conftest import DATA, pdftotext
from tests.factories import FleetFactory, OrganizationFactory


@pytest.mark.django_db
def test_build_packet_pdf_names_organisation_period_and_fleets(tmp_path: Path) -> None:
    org = OrganizationFactory.create(slug="acme", name="Acme Analytics")
    fleet = FleetFactory.create(
        organization=org, name="Web production", distribution="azurelinux-4"
    )
    host = host_resolve(fleet=fleet, hostname="web-01")
    data = (DATA / "nested-components.cdx.json").read_bytes()
    doc = sbom_receive(organization=org, data=data, size=len(data), host=host, dispatch=False)
    sbom_ingest(document_id=doc.pk)
    out = StringIO()

    call_command(
        "build_packet",
        "--org=acme",
        "--start=2026-01-01",
        "--end=2026-12-31",
        f"--out={tmp_path}",
        "--json",
        stdout=out,
    )

    result = json.loads(out.getvalue())
    pdf = Path(result["path"])
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = pdftotext(pdf)
    assert "Acme Analytics" in text
    assert "1 January 2026 \u2013 31 December 2026" in text
    assert "Web production" in text
    assert "Azure Linux 4" in text


@pytest.mark.django_db
def test_build_packet_rejects_a_reversed_period(tmp_path: Path) -> None:
    OrganizationFactory.create(slug="acme")
    with pytest.raises(CommandError, match=r"ends .* before it starts"):
        call_command(
            "build_packet",
            "--org=acme",
            "--start=2026-02-01",
            "--end=2026-01-01",
            f"--out={tmp_path}",
        )


@pytest.mark.django_db
def test_build_packet_names_an_unknown_organisation(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no organisation with slug 'nope'"):
        call_command(
            "build_packet",
            "--org=nope",
            "--start=2026-01-01",
            "--end=2026-01-31",
            f"--out={tmp_path}",
        )


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "https://example.com/static/css/packet.css",
        "http://patchproof.invalid/static/css/packet.css",
        f"{BASE_URL}media/sboms/1.gz",
        f"{BASE_URL}static/../settings.py",
        f"{BASE_URL}static/css/%2e%2e/%2e%2e/portal/settings.py",
        "data:text/css,body{}",
    ],
)
def test_fetcher_refuses_anything_but_static_files(url: str) -> None:
    with pytest.raises(FetchRefused):
        StaticOnlyFetcher().fetch(url)


def test_fetcher_serves_the_packet_stylesheet() -> None:
    response = StaticOnlyFetcher().fetch(f"{BASE_URL}static/css/packet.css")
    assert b"@page" in response.read()
