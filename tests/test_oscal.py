import json
from datetime import timedelta
import pytest
from django.utils import timezone
from evidence.controls.evaluate import evaluation_execute, evaluation_request
from evidence.ingest import sbom_ingest, sbom_receive
from tests.factories import FleetFactory, HostFactory
from tests.test_matching import cyclonedx

pytestmark = pytest.mark.django_db

def test_explore(django_capture_on_commit_callbacks):
    fleet = FleetFactory.create(distribution="fedora-40", organization__name="<script>alert(1)</script>")
    host = HostFactory.create(fleet=fleet)
    now = timezone.now()
    data = cyclonedx(now - timedelta(hours=1), {"bash": "5.2.26-3.fc40", "openssl": "1:3.2.1-2.fc40"})
    doc = sbom_receive(organization=fleet.organization, data=data, size=len(data), host=host, dispatch=False)
    with django_capture_on_commit_callbacks(execute=True):
        sbom_ingest(document_id=doc.pk)
    ev = evaluation_request(organization=fleet.organization, fleet=fleet, period_start=(now - timedelta(days=30)).date(), period_end=now.date(), dispatch=False)
    ev = evaluation_execute(evaluation_id=ev.pk)
    print(ev.status, ev.error, ev.as_of, ev.known_at, ev.catalog_version, ev.period_start, ev.period_end)
    for a in ev.assessments.all():
        print(json.dumps({"c": a.control_id, "s": a.status, "m": a.metrics, "cond": a.conditions, "r": a.rationale, "e": a.evidence}, default=str)[:1500])
    assert 0
