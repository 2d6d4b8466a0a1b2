"""A control evaluation as an OSCAL Assessment Results document (JSON), for GRC tools.

`assessment_results(evaluation)` maps one finished `ControlEvaluation` to an OSCAL
`assessment-results` document that validates against NIST's JSON schema for OSCAL 1.2.3
(vendored, with its source, in tests/data/oscal/); it also fits OSCAL 1.1.3 (see the README
there). The mapping:

- metadata: the title names the organisation, the scope (one fleet, or all fleets) and the
  period; `last-modified` is `generated_at` (default: when the evaluation finished, so an export
  is reproducible); two parties, the organisation (role `prepared-for`) and Patchproof
  (`prepared-by`); props give the evaluation id, scope, period, as-of and known-at times and the
  catalog version and digest.
- import-ap: OSCAL requires a link to an assessment plan, and Patchproof writes none: its plan
  is the control catalog. `href` is `#<uuid>`, which OSCAL resolves to the back-matter resource
  with that uuid; that resource says so and names the catalog version and digest.
- one result: `start` is the period's first day at 00:00 UTC, `end` is `as_of` (the period's
  end, or the evaluation time for a period still running). `reviewed-controls` lists every
  assessed control by its Patchproof id: `PTL-INV-01` is a valid OSCAL token as it is, so ids
  are not rewritten. Patchproof itself is a `software` component in the result's
  `local-definitions`, and the `tool` actor in the origins of observations and findings.
- one observation per control: method `TEST` (figures computed from system-generated evidence:
  SBOMs, feeds, exposure timelines, the audit log; nobody was interviewed), `collected` =
  `known_at`, a description listing every metric (value, target, outcome, formula) and evidence
  condition, one prop per metric value and outcome, and one `relevant-evidence` per evidence
  kind with its count and the stored references (exposure, host, feed-run or exception ids,
  SBOM sha256s) in its remarks.
- one finding per control: `target` is `{type: objective-id, target-id: <control id>}`: the
  control objective Patchproof judged (there is no OSCAL catalog of Patchproof's controls, so
  the id refers to the Patchproof catalog). The description is the rationale; props and links
  name the framework requirements the control maps to (`Catalog.nodes_for`).
- status: OSCAL's `state` is only satisfied | not-satisfied, with `reason` pass | fail | other.
  `met` is satisfied/pass; `not_met` and `partially_met` (a target missed, only the partial
  level held) are not-satisfied/fail; `insufficient_evidence` is not-satisfied/other (the
  control could not be judged, so it is never exported as satisfied); `not_applicable` (the
  evidence conditions held and nothing in scope had to be measured) is satisfied/other with
  implementation-status `not-applicable`. The exact Patchproof status is kept in a
  `patchproof-status` prop on the finding and its target and in the status remarks.

UUIDs are uuid5 of a fixed namespace and a path naming the evaluation (id and creation time)
and the control, so the same evaluation always exports identically. Timestamps are RFC 3339
in UTC (`Z`). Text from people or feeds (organisation and fleet names, details) goes into plain
string fields as it is, whitespace folded (OSCAL strings have no line breaks); in markup fields
(titles, descriptions, remarks: Markdown in OSCAL JSON) the characters that could make a link,
an image, HTML or an entity are backslash-escaped, so a GRC tool shows them as text.
Patchproof's own props carry `ns` = PROP_NS.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time
from typing import Any

from django.conf import settings

from evidence.controls.catalog import Catalog, catalog_load
from evidence.controls.evaluate import target_text
from evidence.models import (
    AssessmentStatus,
    ControlAssessment,
    ControlEvaluation,
    EvaluationStatus,
)

OSCAL_VERSION = "1.2.3"
# The namespace of Patchproof's props: an identifier, not a page (`.example`: Patchproof has no
# domain of its own). Tools such as compliance-trestle accept only http(s) URLs here.
PROP_NS = "https://patchproof.example/ns/oscal"
# uuid5(NAMESPACE_URL, "urn:patchproof:oscal"), fixed: every UUID of an export derives from it.
NAMESPACE = uuid.UUID("33630c2c-31fe-5739-bb14-3c050f40dac9")
Json = dict[str, Any]

# Patchproof status -> (OSCAL objective state, reason, what the state means here).
STATES: dict[str, tuple[str, str, str]] = {
    AssessmentStatus.MET: ("satisfied", "pass", "every target is met"),
    AssessmentStatus.PARTIALLY_MET: (
        "not-satisfied",
        "fail",
        "a target is missed; only its partial level is met",
    ),
    AssessmentStatus.NOT_MET: ("not-satisfied", "fail", "a target is missed"),
    AssessmentStatus.INSUFFICIENT_EVIDENCE: (
        "not-satisfied",
        "other",
        "the evidence does not allow a judgement; the control is not claimed as satisfied",
    ),
    AssessmentStatus.NOT_APPLICABLE: (
        "satisfied",
        "other",
        "the evidence is sufficient and nothing in scope had to be measured",
    ),
}
EVIDENCE_KINDS: dict[str, str] = {
    "exposures": "exposures (exposure ids)",
    "hosts": "hosts (host ids or hostnames)",
    "sbom_documents": "SBOM documents (sha256 of the stored bytes)",
    "feed_runs": "advisory feed runs (feed run ids)",
    "exceptions": "risk exceptions (exception ids)",
}
_OUTCOMES = {
    "met": "meets its target",
    "partially_met": "misses its target, meets the partial level",
    "not_met": "misses its target",
    "no_data": "nothing to measure",
    "info": "informational (no target)",
}
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`[]<>&"})


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _ts(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`; a naive datetime is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _line(text: object) -> str:
    """An OSCAL string: whitespace runs folded to one space, no line breaks, never empty."""
    return " ".join(str(text).split()) or "-"


def _md(text: object, *, multiline: bool = False) -> str:
    """Text for an OSCAL markup field (Markdown), with link, image, HTML and entity syntax
    escaped so that it renders as the text it is."""
    if multiline:
        return str(text).translate(_MARKDOWN_SPECIAL)
    return _line(text).translate(_MARKDOWN_SPECIAL)


def _prop(name: str, value: object, *, cls: str | None = None, remarks: str = "") -> Json:
    prop: Json = {"name": name, "ns": PROP_NS, "value": _line(value)}
    if cls:
        prop["class"] = cls
    if remarks:
        prop["remarks"] = _md(remarks, multiline=True)
    return prop


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _metric_line(metric: dict[str, Any]) -> str:
    text = f"{metric['label']}: {metric['shown']}"
    if metric.get("threshold"):
        text += f" (target {target_text(metric['threshold'], metric['unit'])}"
        if metric.get("partial"):
            text += f"; partial level {target_text(metric['partial'], metric['unit'])}"
        text += ")"
    text += f", {_OUTCOMES.get(metric['outcome'], metric['outcome'])}"
    if metric.get("detail"):
        text += f" ({metric['detail']})"
    return f"{text}. Formula: {metric['formula']}."


def _observation(
    assessment: ControlAssessment, key: str, tool_uuid: str, collected: str, period: str
) -> Json:
    lines = [f"Figures of {assessment.control_id} ({assessment.title}) for {period}:", ""]
    lines += [f"- {_line(_metric_line(m))}" for m in assessment.metrics]
    if assessment.conditions:
        lines += ["", "Evidence conditions:", ""]
        for c in assessment.conditions:
            lines.append(
                f"- {c['id']}: {'holds' if c['holds'] else 'fails'} ({_line(c['detail'])})"
            )
    props = []
    for m in assessment.metrics:
        target = target_text(m["threshold"], m["unit"]) if m.get("threshold") else "none"
        remarks = f"{m['label']}: {m['shown']} ({m['unit']}); target {target}."
        props.append(_prop(m["id"], _number(m["value"]), cls="metric", remarks=remarks))
        props.append(_prop(f"{m['id']}.outcome", m["outcome"], cls="metric-outcome"))
    observation: Json = {
        "uuid": _uuid(key, "observation", assessment.control_id),
        "title": _md(f"{assessment.control_id} {assessment.title}: measured evidence"),
        "description": _md("\n".join(lines), multiline=True),
        "methods": ["TEST"],
        "types": ["control-objective"],
        "origins": [{"actors": [{"type": "tool", "actor-uuid": tool_uuid}]}],
        "collected": collected,
    }
    if props:
        observation["props"] = props
    evidence = []
    for kind, found in sorted(assessment.evidence.items()):
        count, refs = int(found.get("count", 0)), list(found.get("refs", []))
        label = EVIDENCE_KINDS.get(kind, kind.replace("_", " "))
        item: Json = {
            "description": _md(f"Evidence used: {label}, {count} in all.", multiline=True),
            "props": [_prop("evidence-kind", kind), _prop("evidence-count", count)],
        }
        if refs:
            shown = "all" if len(refs) >= count else f"the first {len(refs)} of {count}"
            item["remarks"] = _md(
                f"References ({shown}): {', '.join(_line(r) for r in refs)}", multiline=True
            )
        evidence.append(item)
    if evidence:
        observation["relevant-evidence"] = evidence
    return observation


def _finding(
    assessment: ControlAssessment,
    key: str,
    tool_uuid: str,
    catalog: Catalog,
    observation_uuid: str,
) -> Json:
    state, reason, meaning = STATES[assessment.status]
    label = AssessmentStatus(assessment.status).label
    status_prop = _prop("patchproof-status", assessment.status, remarks=label)
    target: Json = {
        "type": "objective-id",
        "target-id": assessment.control_id,
        "title": _md(f"{assessment.control_id} {assessment.title}"),
        "props": [status_prop],
        "status": {
            "state": state,
            "reason": reason,
            "remarks": _md(f"Patchproof status: {assessment.status} ({label}): {meaning}."),
        },
    }
    if assessment.status == AssessmentStatus.NOT_APPLICABLE:
        target["implementation-status"] = {
            "state": "not-applicable",
            "remarks": _md("Nothing in scope had to be measured in this period."),
        }
    props, links = [status_prop], []
    try:
        nodes = catalog.nodes_for(assessment.control_id)
    except KeyError:  # a control the given catalog no longer has: no mappings to name
        nodes = []
    for mapping, node in nodes:
        framework = catalog.frameworks[mapping.framework]
        heading = f"{framework.name}: {node.label}" + (f" ({node.title})" if node.title else "")
        strength = f", strength {mapping.strength}/10" if mapping.strength else ""
        remarks = (
            f"{heading}, {framework.edition}. Relationship of the control to it: "
            f"{mapping.relationship}{strength}. {mapping.rationale}"
        )
        value = f"{framework.id}:{node.ref}"
        props.append(
            _prop("framework-requirement", value, cls=mapping.relationship, remarks=remarks)
        )
        link = {"href": node.url or framework.source_url, "rel": "reference", "text": _md(heading)}
        if link not in links:
            links.append(link)
    finding: Json = {
        "uuid": _uuid(key, "finding", assessment.control_id),
        "title": _md(f"{assessment.control_id} {assessment.title}: {label}"),
        "description": _md(assessment.rationale, multiline=True),
        "props": props,
        "origins": [{"actors": [{"type": "tool", "actor-uuid": tool_uuid}]}],
        "target": target,
        "related-observations": [{"observation-uuid": observation_uuid}],
    }
    if links:
        finding["links"] = links
    return finding


def assessment_results(
    evaluation: ControlEvaluation,
    *,
    catalog: Catalog | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The OSCAL assessment-results document of a finished evaluation (ValueError for one that
    is queued, running or failed). `catalog` supplies the framework mappings (default: the
    shipped catalog); `generated_at` is `last-modified` (default: when the evaluation finished).
    """
    if evaluation.status != EvaluationStatus.DONE or evaluation.as_of is None:
        raise ValueError(f"evaluation {evaluation.pk} is {evaluation.status}, not done")
    catalog = catalog or catalog_load()
    organization, fleet = evaluation.organization, evaluation.fleet
    org_name = _line(organization.name)
    known_at = evaluation.known_at or evaluation.as_of
    key = f"evaluation/{evaluation.pk}/{_ts(evaluation.created_at)}"
    org_uuid = _uuid("organization", organization.pk, _ts(organization.created_at))
    party_uuid, tool_uuid, plan_uuid = (_uuid("patchproof"), _uuid(key, "tool"), _uuid(key, "ap"))
    scope = f"fleet {_line(fleet.name)} ({fleet.slug})" if fleet else "all fleets"
    period = f"{evaluation.period_start.isoformat()} to {evaluation.period_end.isoformat()}"
    catalog_text = f"catalog {evaluation.catalog_version} (sha256 {evaluation.catalog_digest})"
    assessments = list(evaluation.assessments.order_by("pk"))

    observations, findings = [], []
    for assessment in assessments:
        observation = _observation(assessment, key, tool_uuid, _ts(known_at), period)
        observations.append(observation)
        findings.append(_finding(assessment, key, tool_uuid, catalog, observation["uuid"]))
    counts = {s.value: sum(a.status == s for a in assessments) for s in AssessmentStatus}
    summary = ", ".join(f"{n} {AssessmentStatus(s).label.lower()}" for s, n in counts.items() if n)
    description = (
        f"Patchproof evaluated {len(assessments)} controls of {catalog_text} for "
        f"{org_name}, {scope}, over {period} (UTC days, inclusive). The figures "
        f"describe {_ts(evaluation.as_of)} and use only the evidence Patchproof held at "
        f"{_ts(known_at)}. Outcome: {summary or 'no controls'}."
    )
    result: Json = {
        "uuid": _uuid(key, "result"),
        "title": _md(f"Control evaluation {evaluation.pk}: {org_name}, {scope}, {period}"),
        "description": _md(description, multiline=True),
        "start": _ts(datetime.combine(evaluation.period_start, time(), tzinfo=UTC)),
        "end": _ts(evaluation.as_of),
        "local-definitions": {
            "components": [
                {
                    "uuid": tool_uuid,
                    "type": "software",
                    "title": "Patchproof",
                    "description": "The Patchproof portal, which computed every figure of this "
                    "result from the evidence it holds.",
                    "props": [_prop("version", settings.PATCHPROOF_VERSION)],
                    "status": {"state": "operational"},
                }
            ]
        },
        "reviewed-controls": {
            "description": _md(f"Every control of the Patchproof {catalog_text}.", multiline=True),
            "control-selections": [
                {"include-controls": [{"control-id": a.control_id} for a in assessments]}
            ],
        },
    }
    if observations:
        result["observations"] = observations
        result["findings"] = findings
    if catalog.digest != evaluation.catalog_digest:
        result["remarks"] = _md(
            f"The framework mappings are from catalog {catalog.version} (sha256 "
            f"{catalog.digest}), not from the evaluated {catalog_text}.",
            multiline=True,
        )

    metadata_props = [
        _prop("evaluation-id", evaluation.pk),
        _prop("organization", organization.slug),
        _prop("scope", f"fleet:{fleet.slug}" if fleet else "organization"),
        _prop("period-start", evaluation.period_start.isoformat()),
        _prop("period-end", evaluation.period_end.isoformat()),
        _prop("as-of", _ts(evaluation.as_of)),
        _prop("known-at", _ts(known_at)),
        _prop("catalog-version", evaluation.catalog_version),
        _prop("catalog-digest", evaluation.catalog_digest),
    ]
    metadata: Json = {
        "title": _md(f"Patchproof control evaluation: {org_name}, {scope}, {period}"),
        "last-modified": _ts(generated_at or evaluation.finished_at or evaluation.created_at),
        "version": f"evaluation-{evaluation.pk}",
        "oscal-version": OSCAL_VERSION,
        "props": metadata_props,
        "roles": [
            {"id": "prepared-for", "title": "Prepared For"},
            {"id": "prepared-by", "title": "Prepared By"},
        ],
        "parties": [
            {
                "uuid": org_uuid,
                "type": "organization",
                "name": org_name,
                "short-name": _line(organization.slug),
            },
            {"uuid": party_uuid, "type": "organization", "name": "Patchproof"},
        ],
        "responsible-parties": [
            {"role-id": "prepared-for", "party-uuids": [org_uuid]},
            {"role-id": "prepared-by", "party-uuids": [party_uuid]},
        ],
    }
    plan = {
        "uuid": plan_uuid,
        "title": "Patchproof control catalog (in place of an OSCAL assessment plan)",
        "description": _md(
            "Patchproof publishes no OSCAL assessment plan: what it assesses, and how, is its "
            f"control catalog, here {catalog_text}, evaluated for {scope} over {period}.",
            multiline=True,
        ),
        "props": [
            _prop("catalog-version", evaluation.catalog_version),
            _prop("catalog-digest", evaluation.catalog_digest),
        ],
    }
    return {
        "assessment-results": {
            "uuid": _uuid(key, "document"),
            "metadata": metadata,
            "import-ap": {
                "href": f"#{plan_uuid}",
                "remarks": "A placeholder: the back-matter resource it points to explains it.",
            },
            "results": [result],
            "back-matter": {"resources": [plan]},
        }
    }


def assessment_results_json(
    evaluation: ControlEvaluation,
    *,
    catalog: Catalog | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """`assessment_results` as UTF-8 JSON: keys sorted, indented, with a final newline."""
    document = assessment_results(evaluation, catalog=catalog, generated_at=generated_at)
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
