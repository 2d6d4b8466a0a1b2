"""Raw evidence is removed only by an explicit, audited superuser action: no bulk delete, no
edits, staff without superuser rights cannot delete, and a deletion records who and what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from evidence.ingest import sbom_receive
from evidence.models import SbomDocument
from portal.accounts.models import AuditEvent
from tests.conftest import DATA
from tests.factories import FleetFactory, UserFactory

pytestmark = pytest.mark.django_db


def stored_document() -> SbomDocument:
    fleet = FleetFactory.create()
    data = (DATA / "nested-components.cdx.json").read_bytes()
    return sbom_receive(
        organization=fleet.organization, data=data, size=len(data), fleet=fleet, dispatch=False
    )


def test_staff_cannot_delete_or_edit_raw_evidence() -> None:
    doc = stored_document()
    staff = UserFactory.create(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="sbomdocument"))
    client = Client()
    client.force_login(staff)
    url = f"/admin/evidence/sbomdocument/{doc.pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    listing = client.get("/admin/evidence/sbomdocument/").content.decode()
    assert "delete_selected" not in listing
    assert SbomDocument.objects.filter(pk=doc.pk).exists()


def test_a_superuser_deletion_is_audited_and_takes_the_file(
    django_capture_on_commit_callbacks: Any,
) -> None:
    doc = stored_document()
    raw = Path(doc.raw.path)
    assert raw.exists()
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert "delete_selected" not in client.get("/admin/evidence/sbomdocument/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/evidence/sbomdocument/{doc.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not SbomDocument.objects.filter(pk=doc.pk).exists()
    assert not raw.exists()
    event = AuditEvent.objects.get(action="evidence.deleted")
    assert event.actor_id == admin.pk and event.target_id == str(doc.pk)
    assert event.data["sha256"] == doc.sha256 and event.data["files"] == [doc.raw.name]
