"""Audit packets end to end: sections and figures, the seal, as-of rebuilds, auditor access.

The evidence is built through the product's own pipeline with frozen clocks (see
test_controls_evaluate.py for the quarter); packets are rendered by WeasyPrint and read back
with pdftotext, checked with `verify_packet`, and downloaded through the web pages.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from evidence.models import AuditPacket, Fleet, PacketStatus
from evidence.packets.build import packet_render, packet_request
from evidence.packets.signing import embedded_manifest, public_key_pem
from evidence.timeline import timeline_figures
from portal.accounts.access import Access
from portal.accounts.models import AuditEvent
from tests.conftest import pdftotext
from tests.factories import AuditorGrantFactory, MembershipFactory, UserFactory
from tests.test_controls_evaluate import (
    NEW,
    OLD,
    Q3,
    at,
    feeds_synced,
    noon,
    weekly,
)
from tests.test_controls_evaluate import (
    fleet as fleet,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    advisory as advisory,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    run_commits as run_commits,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    snapshot as snapshot,  # re-exported: the fixture, used by name
)

pytestmark = pytest.mark.django_db

BUILT = datetime(2026, 10, 2, 9, tzinfo=UTC)
LATER = datetime(2026, 10, 20, 9, tzinfo=UTC)


def quarter(snapshot: Any, advisory: Any, run_commits: Any, tmp_path: Path) -> None:
    """Q3: web-1 fixes openssl on Jul 19 (in SLA); web-2 never does (important: overdue)."""
    at(
        noon(6, 20),
        advisory,
        "FEDORA-2026-0007",
        noon(7, 1),
        [("openssl", "1:3.2.2-1.fc40", noon(7, 1))],
        severity="important",
        cves=("CVE-2026-1111",),
    )
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: OLD if t < noon(7, 19) else NEW)
    weekly(snapshot, "web-2", noon(6, 28), noon(9, 27), lambda t: OLD)
    feeds_synced(noon(9, 30), tmp_path, run_commits)


def build(fleet: Fleet, when: datetime) -> AuditPacket:
    with time_machine.travel(when, tick=False):
        packet = packet_request(
            organization=fleet.organization,
            fleet=None,
            period_start=Q3[0],
            period_end=Q3[1],
            dispatch=False,
        )
        return packet_render(packet_id=packet.pk)


def write(packet: AuditPacket, tmp_path: Path) -> Path:
    path = tmp_path / f"packet-{packet.pk}.pdf"
    with packet.pdf.open("rb") as handle:
        path.write_bytes(handle.read())
    return path


def verify(path: Path) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command("verify_packet", str(path), "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue())


@pytest.fixture
def packet(snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Any, tmp_path: Path) -> Any:
    quarter(snapshot, advisory, run_commits, tmp_path)
    return build(fleet, BUILT)


def test_packet_has_every_section_and_the_selectors_figures(
    packet: AuditPacket, fleet: Fleet, tmp_path: Path
) -> None:
    assert packet.status == PacketStatus.DONE, packet.error
    text = pdftotext(write(packet, tmp_path))
    for heading in (
        "Executive summary",
        "Control status",
        "GDPR Art. 32 and related articles",
        "CCPA (Cal. Civ. Code)",
        "CPPA cybersecurity-audit regulations",
        "Control assessments",
        "Evidence: exposures, exceptions and known-exploited items",
        "Upstream lag and deployment lag",
        "Appendix A. Inventory",
        "Appendix B. Advisory feed provenance",
        "Appendix C. Methodology",
        "Verifying this packet",
    ):
        assert heading in text, heading
    figures = timeline_figures(
        Access(organization=fleet.organization, role="owner"),
        fleet=None,
        start=datetime(2026, 7, 1, tzinfo=UTC),
        end=datetime(2026, 10, 1, tzinfo=UTC),
        now=BUILT,
        known_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert figures.overdue_at_end == 1
    assert f"Overdue at the end of the period ({figures.overdue_at_end})" in text
    manifest = packet.manifest
    assert manifest["figures"]["timeline"] == json.loads(json.dumps(figures.as_dict()))
    assert "FEDORA-2026-0007" in text and "web-2" in text
    # Every SBOM document used is listed in the manifest with its sha256.
    documents = manifest["evidence"]["sbom_documents"]
    assert len(documents) == 28  # 2 hosts x 14 weekly snapshots
    assert all(len(d["sha256"]) == 64 for d in documents)
    assert packet.evaluation is not None
    assert packet.evaluation.assessments.count() == 12


def test_seal_verifies_and_any_changed_byte_fails(packet: AuditPacket, tmp_path: Path) -> None:
    path = write(packet, tmp_path)
    code, result = verify(path)
    assert (code, result["valid"], result["packet"]) == (0, True, packet.pk)
    data = path.read_bytes()
    assert embedded_manifest(data) == packet.manifest_file.open("rb").read()

    for offset in (100, len(data) // 2, len(data) - 20):
        changed = bytearray(data)
        changed[offset] ^= 0x01
        bad = tmp_path / f"bad-{offset}.pdf"
        bad.write_bytes(bytes(changed))
        code, result = verify(bad)
        assert code == 1 and not result["valid"], offset
        assert result["reason"]

    appended = tmp_path / "appended.pdf"
    appended.write_bytes(data + b"% one more line\n")
    code, result = verify(appended)
    assert code == 1 and "appended" in result["reason"]


def test_rebuilding_later_gives_identical_figures(
    packet: AuditPacket,
    snapshot: Any,
    advisory: Any,
    fleet: Fleet,
    tmp_path: Path,
) -> None:
    # Late evidence: a snapshot taken on Sep 10 showing web-2 fixed, uploaded on Oct 20, and an
    # advisory published on Aug 1 that Patchproof first fetched on Oct 20.
    at(LATER, snapshot, "web-2", noon(9, 10), NEW)
    at(LATER, advisory, "FEDORA-2026-0099", noon(8, 1), [("bash", "5.2-2.fc40", noon(8, 1))])
    live = timeline_figures(
        Access(organization=fleet.organization, role="owner"),
        fleet=None,
        start=datetime(2026, 7, 1, tzinfo=UTC),
        end=datetime(2026, 10, 1, tzinfo=UTC),
        now=LATER,
    )
    assert live.as_dict() != packet.manifest["figures"]["timeline"]  # the evidence did change

    again = build(fleet, LATER + timedelta(days=1))

    assert again.pk != packet.pk and again.sha256 != packet.sha256  # a new, immutable packet
    assert again.manifest["figures"] == packet.manifest["figures"]
    assert again.manifest["evidence"] == packet.manifest["evidence"]
    assert again.manifest["packet"]["generated_at"] != packet.manifest["packet"]["generated_at"]


def test_public_key_is_served_and_printed(packet: AuditPacket, tmp_path: Path) -> None:
    response = Client().get("/.well-known/patchproof-signing-key.pem")
    assert response.status_code == 200
    assert response.content.decode() == public_key_pem()
    text = pdftotext(write(packet, tmp_path))
    assert "BEGIN PUBLIC KEY" in text and packet.key_id in text
    assert packet.manifest_sha256 in re.sub(r"\s+", "", text)


def _page(client: Client, packet: AuditPacket, name: str) -> Any:
    url = reverse(name, kwargs={"org": packet.organization.slug, "packet_id": packet.pk})
    return client.get(url)


def test_auditor_access_matrix(packet: AuditPacket, fleet: Fleet) -> None:
    live = UserFactory.create(username="auditor-live")
    AuditorGrantFactory.create(auditor=live, organization=fleet.organization)
    expired = UserFactory.create(username="auditor-expired")
    AuditorGrantFactory.create(
        auditor=expired,
        organization=fleet.organization,
        expires_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    stranger = UserFactory.create(username="other-org")
    MembershipFactory.create(user=stranger)  # a member of another organisation
    other_fleet = UserFactory.create(username="auditor-other-fleet")
    from tests.factories import FleetFactory

    AuditorGrantFactory.create(
        auditor=other_fleet,
        organization=fleet.organization,
        fleet=FleetFactory.create(organization=fleet.organization, slug="other"),
    )

    def client(user: Any) -> Client:
        c = Client()
        c.force_login(user)
        return c

    auditor = client(live)
    response = _page(auditor, packet, "evidence:packet-download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert _page(auditor, packet, "evidence:packet-manifest").status_code == 200
    for user in (expired, stranger, other_fleet):
        for name in ("evidence:packet", "evidence:packet-download", "evidence:packet-manifest"):
            assert _page(client(user), packet, name).status_code == 404, (user, name)
    downloads = AuditEvent.objects.filter(action="packet.downloaded", target_id=str(packet.pk))
    assert [e.actor_label for e in downloads] == ["auditor-live"]
    page = _page(auditor, packet, "evidence:packet").content.decode()
    assert "auditor-live" in page and "Signature valid" in page
    assert AuditEvent.objects.filter(action="packet.viewed", actor_label="auditor-live").exists()


def test_hostile_advisory_and_package_text_is_inert(
    snapshot: Any, advisory: Any, fleet: Fleet, run_commits: Any, tmp_path: Path
) -> None:
    from evidence.models import Advisory

    quarter(snapshot, advisory, run_commits, tmp_path)
    Advisory.objects.filter(external_id="FEDORA-2026-0007").update(
        title='<script>alert(1)</script><style>body{display:none}</style>"; }'
    )
    packet = build(fleet, BUILT)
    assert packet.status == PacketStatus.DONE, packet.error
    code, _result = verify(write(packet, tmp_path))
    assert code == 0
    # The title is printed as text: escaped, so it neither runs nor restyles the page.
    text = pdftotext(write(packet, tmp_path))
    flat = re.sub(r"\s+", "", text)
    assert "<script>alert(1)</script>" in flat
    assert "<style>body{display:none}</style>" in flat
    assert "Verifying this packet" in text  # the rest of the document is still there


def test_packet_request_rejects_a_reversed_period(fleet: Fleet) -> None:
    from evidence.packets.build import PacketPeriodError

    with pytest.raises(PacketPeriodError, match="ends"):
        packet_request(
            organization=fleet.organization,
            period_start=date(2026, 9, 30),
            period_end=date(2026, 7, 1),
            dispatch=False,
        )


def test_signing_key_outside_the_default_path_is_created_only_on_request(
    settings: Any, tmp_path: Path
) -> None:
    from django.core.management.base import CommandError

    settings.PACKET_SIGNING_KEY_FILE = str(tmp_path / "keys" / "packet.pem")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("packet_signing_key")
    out = io.StringIO()
    call_command("packet_signing_key", "--create", "--json", stdout=out)
    first = json.loads(out.getvalue())
    path = tmp_path / "keys" / "packet.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    out = io.StringIO()
    call_command("packet_signing_key", "--create", "--json", stdout=out)
    assert json.loads(out.getvalue())["key_id"] == first["key_id"]  # an existing key is kept
    assert first["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_rotated_keys_still_verify_old_packets_and_nothing_is_generated_to_verify(
    packet: AuditPacket, settings: Any, tmp_path: Path
) -> None:
    from django.core.management.base import CommandError

    from evidence.packets.signing import public_path

    path = write(packet, tmp_path)
    key_file = Path(settings.PACKET_SIGNING_KEY_FILE)
    # Rotation: the old private key goes, its public half stays beside the new key.
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "2026-old.pub.pem").write_bytes(public_path(key_file).read_bytes())
    settings.PACKET_SIGNING_KEY_FILE = str(folder / "packet-signing-key.pem")
    call_command("packet_signing_key", "--create", stdout=io.StringIO())
    assert verify(path)[0] == 0
    # An auditor's machine without any key: verify_packet asks for the public key.
    settings.PACKET_SIGNING_KEY_FILE = str(tmp_path / "none" / "packet-signing-key.pem")
    with pytest.raises(CommandError, match="--public-key"):
        call_command("verify_packet", str(path))
    assert not (tmp_path / "none").exists()
    public = tmp_path / "portal.pem"
    public.write_bytes((folder / "2026-old.pub.pem").read_bytes())
    out = io.StringIO()
    call_command("verify_packet", str(path), f"--public-key={public}", "--json", stdout=out)
    assert json.loads(out.getvalue())["valid"] is True


def test_public_key_endpoint_before_any_packet(settings: Any, tmp_path: Path) -> None:
    settings.PACKET_SIGNING_KEY_FILE = str(tmp_path / "missing" / "packet.pem")
    response = Client().get("/.well-known/patchproof-signing-key.pem")
    assert response.status_code == 503 and b"no packet signing key" in response.content
    settings.VAR_DIR = tmp_path / "var"  # the default path: the key is made on first use
    settings.PACKET_SIGNING_KEY_FILE = str(tmp_path / "var" / "packet-signing-key.pem")
    response = Client().get("/.well-known/patchproof-signing-key.pem")
    assert response.status_code == 200 and response.content.startswith(b"-----BEGIN PUBLIC KEY")
