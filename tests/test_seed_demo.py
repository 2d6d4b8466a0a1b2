"""`seed_demo`: idempotent demo data, refused in production without --force."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from evidence.models import Fleet, Host, SbomDocument
from portal.accounts.models import AuditorGrant, Membership, Organization


def snapshot() -> dict:
    users = get_user_model().objects
    return {
        "orgs": sorted(Organization.objects.values_list("slug", "name")),
        "fleets": sorted(Fleet.objects.values_list("organization__slug", "slug", "distribution")),
        "hosts": sorted(Host.objects.values_list("fleet__slug", "hostname", "last_seen_at")),
        "sboms": sorted(SbomDocument.objects.values_list("sha256", "status", "component_count")),
        "users": sorted(users.values_list("username", "is_staff", "password")),
        "memberships": sorted(Membership.objects.values_list("user__username", "role")),
        "grants": sorted(AuditorGrant.objects.values_list("auditor__username", "expires_at")),
    }


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data(settings) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    first = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first
    counts = json.loads(out.getvalue())
    assert counts == {
        "exposures": 24, "organizations": 2, "fleets": 3, "hosts": 6, "sboms": 169,
    }  # fmt: skip


@pytest.mark.django_db
def test_seed_demo_shows_believable_exposures(settings) -> None:
    from evidence.models import Exposure

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    statuses = {
        (e.host.hostname, e.advisory.external_id): e.status_at(noon)
        for e in Exposure.objects.select_related("host", "advisory")
    }
    # Web: the KEV-listed OpenSSH fix (P0, 3 days) went in late; the kernel fix is pending.
    assert statuses[("web-01.acme.example", "DEMO-AZL-2026-0002")] == "fixed_late"
    assert statuses[("web-01.acme.example", "DEMO-AZL-2026-0003")] == "open"
    assert statuses[("web-01.acme.example", "DEMO-AZL-2026-0001")] == "fixed_in_sla"
    # Batch: the retired Deepin terminal was removed, but late; one host never took the OpenSSL
    # fix; Fedora 40 is end of life, accepted by an exception until the move to Azure Linux 4.
    assert statuses[("batch-01.acme.example", "fedora/rpm/deepin-terminal")] == "fixed_late"
    assert statuses[("batch-01.acme.example", "DEMO-FEDORA-2026-0004")] == "fixed_in_sla"
    assert statuses[("batch-02.acme.example", "DEMO-FEDORA-2026-0004")] == "overdue"
    eol = "eol/fedora-40/rpm/fedora-release-common"
    assert statuses[("batch-02.acme.example", eol)] == "excepted"


@pytest.mark.django_db
def test_demo_last_quarter_packet_is_built_in_one_command(settings, tmp_path) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command(
        "build_packet", "--org=acme", "--last-quarter", f"--out={tmp_path}", "--json", stdout=out
    )
    result = json.loads(out.getvalue())
    from evidence.models import AuditPacket
    from evidence.packets.signing import packet_verify

    packet = AuditPacket.objects.get(pk=result["id"])
    assert packet_verify(Path(result["path"]).read_bytes()).ok
    assert packet.evaluation is not None
    statuses = {a.control_id: a.status for a in packet.evaluation.assessments.all()}
    # The demo's history covers the quarter: nothing is short of evidence.
    assert "insufficient_evidence" not in statuses.values()
    assert statuses["PTL-INV-01"] == "met" and statuses["PTL-PATCH-01"] == "not_met"
    assert statuses["PTL-INV-03"] == "met"  # Fedora 40 end of life: excepted
    assert statuses["PTL-AUD-02"] == "met"  # the monthly evaluations of June, July, August


@pytest.mark.django_db
def test_seed_demo_logins_work_and_see_their_organisation(settings, client) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    for email in ["officer@acme.example", "viewer@acme.example", "auditor@audit.example"]:
        assert client.login(username=email, password="patchproof-demo"), email
        response = client.get("/", follow=True)
        assert response.status_code == 200
        assert b"Acme Analytics" in response.content
        assert b"Globex" not in response.content
        client.logout()
    assert client.login(username="admin@patchproof.example", password="patchproof-demo")
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_shows_ingested_and_rejected_uploads(settings) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    rejected = SbomDocument.objects.get(filename="truncated.json")
    assert rejected.status == "rejected"
    assert "not JSON" in rejected.error
    assert SbomDocument.objects.filter(status="ingested").count() == 168  # 6 hosts x 28 snapshots


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=StringIO())
    assert not Organization.objects.exists()
    call_command("seed_demo", "--force", stdout=StringIO())
    assert Organization.objects.count() == 2
