"""The OSCAL Assessment Results export of a real evaluation, checked against NIST's schema.

The schema (tests/data/oscal/, OSCAL 1.2.3, see its README) is validated with jsonschema_rs:
its token patterns use `\\p{L}` / `\\p{N}`, which Python's `re` cannot compile, and formats
(date-time, uri, uri-reference) are checked too. `test_tampered_documents_fail` shows the
validator rejects what it should.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from django.utils import timezone

from evidence.controls.catalog import catalog_load
from evidence.controls.evaluate import evaluation_execute, evaluation_request
from evidence.ingest import sbom_ingest, sbom_receive
from evidence.models import AssessmentStatus, ControlEvaluation
from evidence.oscal import NAMESPACE, PROP_NS, STATES, assessment_results, assessment_results_json
from tests.factories import FleetFactory, HostFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SCHEMA = Path(__file__).resolve().parent / "data" / "oscal" / "oscal_assessment-results_schema.json"
SCHEMA_SHA256 = "37f41f6813c78e6d2c272b27030e17e93d7f92fee519c72e7531574fa0ecbb05"
HOSTILE = "<script>alert(1)</script>"
GENERATED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_bytes()), validate_formats=True)


def errors(validator: Any, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def cyclonedx(when: datetime, packages: dict[str, str]) -> bytes:
    components = [
        {
            "type": "library",
            "bom-ref": f"{name}-{version}",
            "name": name,
            "version": version,
            "purl": f"pkg:rpm/fedora/{name}@{version}?arch=x86_64&distro=fedora-40",
        }
        for name, version in sorted(packages.items())
    ]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"timestamp": when.isoformat().replace("+00:00", "Z")},
        "components": components,
    }
    return json.dumps(document).encode()


@pytest.fixture
def evaluate(django_capture_on_commit_callbacks: Any) -> Any:
    """An organisation, a fleet, one host with an ingested SBOM, and a finished evaluation of
    the last 30 days made by the product's own service."""

    def run(
        org_name: str = "Example Ltd",
        fleet_name: str = "Web production",
        *,
        whole_org: bool = False,
    ) -> Any:
        organization = OrganizationFactory.create(name=org_name)
        fleet = FleetFactory.create(
            organization=organization, name=fleet_name, distribution="fedora-40"
        )
        host = HostFactory.create(fleet=fleet)
        now = timezone.now()
        data = cyclonedx(now - timedelta(hours=1), {"bash": "5.2.26-3.fc40", "zlib": "1.3-4.fc40"})
        document = sbom_receive(
            organization=organization, data=data, size=len(data), host=host, dispatch=False
        )
        with django_capture_on_commit_callbacks(execute=True):
            sbom_ingest(document_id=document.pk)
        evaluation = evaluation_request(
            organization=organization,
            fleet=None if whole_org else fleet,
            period_start=(now - timedelta(days=30)).date(),
            period_end=now.date(),
            dispatch=False,
        )
        evaluation = evaluation_execute(evaluation_id=evaluation.pk)
        assert evaluation.status == "done", evaluation.error
        return evaluation, document

    return run


def result_of(document: dict[str, Any]) -> dict[str, Any]:
    results = document["assessment-results"]["results"]
    assert len(results) == 1
    return results[0]


def test_uuid_namespace_is_fixed() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_URL, "urn:patchproof:oscal") == NAMESPACE


def test_vendored_schema_is_the_nist_release() -> None:
    raw = SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    schema = json.loads(raw)
    assert schema["$id"] == "http://csrc.nist.gov/ns/oscal/1.2.3/oscal-ar-schema.json"
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_export_validates_and_covers_every_control(evaluate: Any, validator: Any) -> None:
    evaluation, _ = evaluate()
    catalog = catalog_load()
    document = assessment_results(evaluation, generated_at=GENERATED)
    assert errors(validator, document) == []

    root = document["assessment-results"]
    metadata = root["metadata"]
    assert metadata["oscal-version"] == "1.2.3"
    assert metadata["last-modified"] == "2026-11-26T12:00:00Z"
    props = {p["name"]: p["value"] for p in metadata["props"]}
    assert props["catalog-version"] == catalog.version == evaluation.catalog_version
    assert props["catalog-digest"] == catalog.digest
    assert props["evaluation-id"] == str(evaluation.pk)
    assert {p["name"] for p in metadata["parties"]} == {"Example Ltd", "Patchproof"}
    assert "Example Ltd" in metadata["title"] and "Web production" in metadata["title"]
    # import-ap points at the back-matter resource that explains the placeholder.
    plan_href = root["import-ap"]["href"]
    assert plan_href == "#" + root["back-matter"]["resources"][0]["uuid"]

    result = result_of(document)
    control_ids = [c.id for c in catalog.controls]
    selected = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert [c["control-id"] for c in selected] == control_ids
    assert result["start"] == f"{evaluation.period_start.isoformat()}T00:00:00Z"
    assert result["end"].endswith("Z")

    observations, findings = result["observations"], result["findings"]
    assert len(observations) == len(findings) == len(control_ids)
    assert [f["target"]["target-id"] for f in findings] == control_ids
    by_uuid = {o["uuid"]: o for o in observations}
    for finding, control in zip(findings, catalog.controls, strict=True):
        assert finding["target"]["type"] == "objective-id"
        linked = by_uuid[finding["related-observations"][0]["observation-uuid"]]
        assert linked["title"].startswith(control.id)
        assert linked["methods"] == ["TEST"]
        metric_props = {p["name"] for p in linked["props"] if p.get("class") == "metric"}
        assert metric_props == {m.id for m in control.metrics}
    uuids = [o["uuid"] for o in observations] + [f["uuid"] for f in findings]
    assert len(set(uuids)) == len(uuids)


def test_metrics_evidence_and_mappings_are_carried(evaluate: Any) -> None:
    evaluation, sbom = evaluate()
    result = result_of(assessment_results(evaluation))
    observation = next(o for o in result["observations"] if o["title"].startswith("PTL-INV-01"))
    values = {p["name"]: p["value"] for p in observation["props"]}
    assert values["hosts_reporting_ratio"] == "1"
    assert values["hosts_reporting_ratio.outcome"] == "met"
    assert "Hosts reporting within the inventory age limit: 100%" in observation["description"]
    evidence = {
        next(p["value"] for p in e["props"] if p["name"] == "evidence-kind"): e
        for e in observation["relevant-evidence"]
    }
    assert set(evidence) == {"hosts", "sbom_documents"}
    sboms = evidence["sbom_documents"]
    assert {"name": "evidence-count", "ns": PROP_NS, "value": "1"} in sboms["props"]
    assert sbom.sha256 in sboms["remarks"]

    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "PTL-INV-01")
    assessment = evaluation.assessments.get(control_id="PTL-INV-01")
    assert finding["description"] == assessment.rationale
    requirements = {p["value"] for p in finding["props"] if p["name"] == "framework-requirement"}
    expected = {f"{m.framework}:{n.ref}" for m, n in catalog_load().nodes_for("PTL-INV-01")}
    assert requirements == expected and "gdpr:32.1.b" in requirements
    assert all(link["href"].startswith("https://") for link in finding["links"])


def test_statuses_map_to_oscal_states(evaluate: Any, validator: Any) -> None:
    evaluation, _ = evaluate()
    statuses = dict(evaluation.assessments.values_list("control_id", "status"))
    # The real evaluation has met, not_met and insufficient_evidence controls; two are moved
    # to the statuses it lacks so that all five are exported and validated.
    assert {"met", "not_met", "insufficient_evidence"} <= set(statuses.values())
    moved = [c for c, s in statuses.items() if s == "met"][:2]
    for control_id, status in zip(
        moved, [AssessmentStatus.PARTIALLY_MET, AssessmentStatus.NOT_APPLICABLE], strict=True
    ):
        evaluation.assessments.filter(control_id=control_id).update(status=status)
        statuses[control_id] = status
    assert set(statuses.values()) == {s.value for s in AssessmentStatus}

    document = assessment_results(evaluation)
    assert errors(validator, document) == []
    expected = {
        "met": ("satisfied", "pass"),
        "partially_met": ("not-satisfied", "fail"),
        "not_met": ("not-satisfied", "fail"),
        "insufficient_evidence": ("not-satisfied", "other"),
        "not_applicable": ("satisfied", "other"),
    }
    assert {s: v[:2] for s, v in STATES.items()} == expected
    for finding in result_of(document)["findings"]:
        target = finding["target"]
        status = statuses[target["target-id"]]
        assert (target["status"]["state"], target["status"]["reason"]) == expected[status]
        kept = {p["name"]: p["value"] for p in target["props"]}
        assert kept["patchproof-status"] == status
        assert f"Patchproof status: {status}" in target["status"]["remarks"]
        if status == "insufficient_evidence":
            assert target["status"]["state"] != "satisfied"
        if status == "not_applicable":
            assert target["implementation-status"]["state"] == "not-applicable"


def test_export_is_deterministic(evaluate: Any) -> None:
    evaluation, _ = evaluate()
    first = assessment_results_json(evaluation, generated_at=GENERATED)
    again = ControlEvaluation.objects.get(pk=evaluation.pk)
    assert assessment_results_json(again, generated_at=GENERATED) == first
    # Without generated_at, last-modified is the evaluation's finish: still reproducible.
    assert assessment_results_json(evaluation) == assessment_results_json(again)
    document = json.loads(first)
    assert list(document) == ["assessment-results"]
    assert first.decode().startswith('{\n  "assessment-results": {')
    result = result_of(document)
    for item in [result, *result["observations"], *result["findings"]]:
        assert uuid.UUID(item["uuid"]).version == 5
    with pytest.raises(ValueError, match="no time zone"):
        assessment_results(evaluation, generated_at=datetime(2026, 11, 26))  # noqa: DTZ001
    later = assessment_results_json(evaluation, generated_at=GENERATED + timedelta(days=1))
    changed = [a for a, b in zip(first.splitlines(), later.splitlines(), strict=True) if a != b]
    assert changed == [b'      "last-modified": "2026-11-26T12:00:00Z",']


def test_hostile_text_stays_plain_text(evaluate: Any, validator: Any) -> None:
    evaluation, _ = evaluate(org_name=HOSTILE, fleet_name=f"  Web\n{HOSTILE}  ")
    raw = assessment_results_json(evaluation)
    document = json.loads(raw)
    assert errors(validator, document) == []
    metadata = document["assessment-results"]["metadata"]
    # Plain OSCAL strings carry the name as it is (whitespace folded: strings have no breaks).
    assert metadata["parties"][0]["name"] == HOSTILE
    # Markup fields (Markdown in OSCAL JSON) escape it so that it renders as text, not HTML.
    assert "\\<script\\>alert(1)\\</script\\>" in metadata["title"]
    assert "Web \\<script\\>" in metadata["title"]
    assert HOSTILE not in metadata["title"]
    assert b"&lt;" not in raw and b"\\u003c" not in raw


def test_tampered_documents_fail(evaluate: Any, validator: Any) -> None:
    evaluation, _ = evaluate()
    document = assessment_results(evaluation)
    assert errors(validator, document) == []

    def tampered(change: Any) -> list[str]:
        copy = json.loads(json.dumps(document))
        change(copy["assessment-results"])
        return errors(validator, copy)

    assert tampered(lambda d: d["results"][0]["findings"][0].pop("target"))
    assert tampered(
        lambda d: d["results"][0]["findings"][0]["target"]["status"].update(state="met")
    )
    assert tampered(lambda d: d.pop("import-ap"))
    assert tampered(lambda d: d["metadata"].update({"last-modified": "2026-11-26 12:00"}))
    assert tampered(lambda d: d["results"][0]["observations"][0].update(methods=[]))
    assert tampered(lambda d: d["metadata"]["parties"][0].update(name=" padded"))


def test_organisation_wide_evaluation(evaluate: Any, validator: Any) -> None:
    evaluation, _ = evaluate(whole_org=True)
    document = assessment_results(evaluation)
    assert errors(validator, document) == []
    metadata = document["assessment-results"]["metadata"]
    assert {p["name"]: p["value"] for p in metadata["props"]}["scope"] == "organization"
    assert "all fleets" in metadata["title"]
    assert "remarks" not in result_of(document)
    # Mappings from another catalog than the evaluated one are flagged.
    other = dataclasses.replace(catalog_load(), digest="0" * 64)
    remarks = result_of(assessment_results(evaluation, catalog=other))["remarks"]
    assert "not from the evaluated catalog" in remarks


def test_unfinished_evaluation_is_refused() -> None:
    fleet = FleetFactory.create()
    today = timezone.now().date()
    evaluation = evaluation_request(
        organization=fleet.organization,
        fleet=None,
        period_start=today,
        period_end=today,
        dispatch=False,
    )
    with pytest.raises(ValueError, match="not done"):
        assessment_results(evaluation)
