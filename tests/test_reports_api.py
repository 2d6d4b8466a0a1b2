"""The reports API and exports: evaluations and packets requested, polled, downloaded, exported.

Requests go through Celery (eager in tests, run on commit); the exports cover exactly the
packet's scope and period as known at its end.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from evidence.models import AuditPacket
from evidence.packets.signing import packet_verify
from portal.accounts.models import AuditEvent, Role
from portal.accounts.tokens import api_token_create
from tests.factories import MembershipFactory, UserFactory
from tests.test_controls_evaluate import NEW, OLD, at, feeds_synced, noon, weekly
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
SCOPE = {"period_start": "2026-07-01", "period_end": "2026-09-30"}


def bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def token(
    snapshot: Any, advisory: Any, fleet: Any, run_commits: Any, tmp_path: Path
) -> tuple[Client, Any]:
    at(
        noon(6, 20),
        advisory,
        "FEDORA-2026-0011",
        noon(7, 1),
        [("openssl", "1:3.2.2-1.fc40", noon(7, 1))],
        severity="important",
    )
    weekly(snapshot, "web-1", noon(6, 28), noon(9, 27), lambda t: OLD if t < noon(7, 19) else NEW)
    weekly(snapshot, "web-2", noon(6, 28), noon(9, 27), lambda t: OLD)
    feeds_synced(noon(9, 30), tmp_path, run_commits)
    _token, secret = api_token_create(organization=fleet.organization, name="reports")
    return bearer(secret), fleet


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    with_commit = client.post(url, json.dumps(body), content_type="application/json")
    return with_commit


def test_packet_requested_polled_downloaded_and_exported(
    token: tuple[Client, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client, fleet = token
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/api/v1/packets/", {**SCOPE, "fleet": fleet.slug})
    assert response.status_code == 202, response.content
    url = f"/api/v1/packets/{response.json()['id']}/"
    packet = client.get(url).json()
    assert packet["status"] == "done" and packet["progress"] == 100
    assert set(packet["links"]) == {
        "pdf", "manifest", "exposures.csv", "assessments.csv", "oscal.json",
    }  # fmt: skip

    pdf = client.get(packet["links"]["pdf"]).getvalue()
    assert packet_verify(pdf).ok
    manifest = json.loads(client.get(packet["links"]["manifest"]).getvalue())
    assert manifest["packet"]["id"] == packet["id"]

    exposures = client.get(packet["links"]["exposures.csv"]).getvalue()
    rows = list(csv.DictReader(io.StringIO(exposures.decode())))
    # web-1 fixed in SLA on Jul 19; web-2 never: overdue since Jul 31.
    assert sorted((r["host"], r["status_at_end"]) for r in rows) == [
        ("web-1", "fixed_in_sla"),
        ("web-2", "overdue"),
    ]
    assert rows[0]["advisory_id"] == "FEDORA-2026-0011"
    assessments = client.get(packet["links"]["assessments.csv"]).getvalue()
    table = list(csv.DictReader(io.StringIO(assessments.decode())))
    in_sla = next(r for r in table if r["metric_id"] == "in_sla_ratio")
    assert (in_sla["control_id"], in_sla["value"], in_sla["outcome"]) == (
        "PTL-PATCH-01",
        "0.5",
        "not_met",
    )
    oscal = json.loads(client.get(packet["links"]["oscal.json"]).getvalue())
    assert "assessment-results" in oscal
    actions = set(
        AuditEvent.objects.filter(target_id=str(packet["id"])).values_list("action", flat=True)
    )
    assert {"packet.downloaded", "packet.manifest_downloaded", "packet.exported"} <= actions


def test_evaluation_via_the_api(
    token: tuple[Client, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client, _fleet = token
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/api/v1/evaluations/", SCOPE)
    assert response.status_code == 202
    evaluation = client.get(f"/api/v1/evaluations/{response.json()['id']}/").json()
    assert evaluation["status"] == "done"
    statuses = {a["control_id"]: a["status"] for a in evaluation["assessments"]}
    assert len(statuses) == 12 and statuses["PTL-PATCH-01"] == "not_met"
    patch = next(a for a in evaluation["assessments"] if a["control_id"] == "PTL-PATCH-01")
    assert patch["evidence"]["exposures"]["count"] == 1  # web-2's overdue exposure


def test_bad_requests_say_what_is_wrong(token: tuple[Client, Any]) -> None:
    client, _fleet = token
    reversed_period = post(
        client, "/api/v1/packets/", {"period_start": "2026-09-30", "period_end": "2026-07-01"}
    )
    assert reversed_period.status_code == 400
    assert "before it starts" in reversed_period.json()["period_end"]
    bad_date = post(client, "/api/v1/evaluations/", {"period_start": "July", "period_end": "x"})
    assert bad_date.status_code == 400 and "period_start" in bad_date.json()
    unknown_fleet = post(client, "/api/v1/packets/", {**SCOPE, "fleet": "nope"})
    assert unknown_fleet.status_code == 404
    assert AuditPacket.objects.count() == 0


def test_viewers_and_auditors_read_but_cannot_request(token: tuple[Client, Any]) -> None:
    _client, fleet = token
    viewer = UserFactory.create()
    MembershipFactory.create(user=viewer, organization=fleet.organization, role=Role.VIEWER)
    session = Client()
    session.force_login(viewer)
    response = post(session, "/api/v1/packets/", SCOPE)
    assert response.status_code == 403
    assert session.get("/api/v1/packets/").status_code == 200


def test_a_fleet_token_requests_packets_of_its_own_fleet_only(
    token: tuple[Client, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _client, fleet = token
    from tests.factories import FleetFactory

    other = FleetFactory.create(organization=fleet.organization, slug="other")
    _token, secret = api_token_create(organization=fleet.organization, fleet=fleet, name="fleet")
    client = bearer(secret)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/api/v1/packets/", SCOPE)
    assert response.status_code == 202 and response.json()["fleet"] == fleet.slug
    assert post(client, "/api/v1/packets/", {**SCOPE, "fleet": other.slug}).status_code == 404
    evaluation = post(client, "/api/v1/evaluations/", SCOPE)
    assert evaluation.status_code == 202 and evaluation.json()["fleet"] == fleet.slug
