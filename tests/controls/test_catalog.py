"""The control catalog: the shipped data (the control and metric ids the evaluator relies on,
parameters, requirement nodes, mappings), strict validation of modified copies, and the digest.
Pure Python: no database.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence.controls.catalog import (
    CONDITIONS,
    DATA_DIR,
    EVIDENCE_KINDS,
    RELATIONSHIPS,
    UNITS,
    Catalog,
    CatalogError,
    Threshold,
    catalog_load,
)

# control id -> (requires, [(metric id, unit, op, threshold param, partial param)])
CONTRACT: dict[str, tuple[list[str], list[tuple[str, str, str | None, str | None, str | None]]]]
CONTRACT = {
    "PTL-INV-01": (
        ["hosts"],
        [
            (
                "hosts_reporting_ratio",
                "ratio",
                ">=",
                "min_reporting_ratio",
                "partial_reporting_ratio",
            ),
            ("inventory_age_days_max", "days", "<=", "inventory_max_age_days", None),
        ],
    ),
    "PTL-INV-02": (
        ["hosts"],
        [
            ("hosts_with_ledger_ratio", "ratio", ">=", "min_ledger_ratio", "partial_ledger_ratio"),
            ("rejected_sboms", "count", None, None, None),
        ],
    ),
    "PTL-INV-03": (
        ["hosts", "inventory_fresh", "retired_feed"],
        [
            ("retired_open_unexcepted", "count", "<=", "max_retired_open", None),
            ("eol_hosts", "count", None, None, None),
        ],
    ),
    "PTL-VULN-01": (
        ["feeds_ran"],
        [
            ("stale_feeds", "count", "<=", "max_stale_feeds", None),
            ("feed_age_hours_max", "hours", "<=", "feed_max_age_hours", None),
        ],
    ),
    "PTL-VULN-02": (
        ["hosts"],
        [
            (
                "assessment_gap_days_max",
                "days",
                "<=",
                "max_assessment_gap_days",
                "partial_assessment_gap_days",
            ),
            ("hosts_assessed_ratio", "ratio", ">=", "min_assessed_ratio", None),
        ],
    ),
    "PTL-PATCH-01": (
        ["hosts", "inventory_fresh", "feeds_fresh"],
        [
            ("in_sla_ratio", "ratio", ">=", "min_in_sla_ratio", "partial_in_sla_ratio"),
            ("p0_p1_overdue_open", "count", "<=", "max_p0_p1_overdue", None),
            ("overdue_open", "count", None, None, None),
            ("ttr_p50_days", "days", None, None, None),
            ("ttr_p90_days", "days", None, None, None),
        ],
    ),
    "PTL-PATCH-02": (
        ["hosts", "inventory_fresh", "kev_feed"],
        [
            ("kev_open_past_due", "count", "<=", "max_kev_past_due", None),
            ("kev_in_due_ratio", "ratio", ">=", "min_kev_in_due_ratio", "partial_kev_in_due_ratio"),
        ],
    ),
    "PTL-EXC-01": (
        ["hosts"],
        [
            (
                "overdue_covered_ratio",
                "ratio",
                ">=",
                "min_overdue_covered_ratio",
                "partial_overdue_covered_ratio",
            ),
            ("long_exceptions", "count", "<=", "max_long_exceptions", None),
        ],
    ),
    "PTL-EXC-02": (
        ["hosts", "inventory_fresh", "feeds_fresh"],
        [
            ("nofix_open", "count", None, None, None),
            ("nofix_unreviewed", "count", "<=", "max_nofix_unreviewed", None),
            ("upstream_lag_p90_days", "days", None, None, None),
        ],
    ),
    "PTL-SBOM-01": (
        ["hosts"],
        [
            ("hosts_with_sbom_ratio", "ratio", ">=", "min_sbom_ratio", "partial_sbom_ratio"),
            (
                "ntia_completeness_mean",
                "ratio",
                ">=",
                "min_ntia_completeness",
                "partial_ntia_completeness",
            ),
        ],
    ),
    "PTL-AUD-01": (
        [],
        [
            ("audit_chain_intact", "bool", ">=", "min_audit_chain_intact", None),
            ("evidence_digest_ratio", "ratio", ">=", "min_digest_ratio", None),
            ("retention_days", "days", ">=", "min_retention_days", None),
        ],
    ),
    "PTL-AUD-02": (
        [],
        [
            (
                "reporting_months_ratio",
                "ratio",
                ">=",
                "min_reporting_months_ratio",
                "partial_reporting_months_ratio",
            ),
        ],
    ),
}

PARAMETERS = {
    "inventory_max_age_days": 7,
    "min_reporting_ratio": 0.98,
    "partial_reporting_ratio": 0.90,
    "min_ledger_ratio": 1.0,
    "partial_ledger_ratio": 0.90,
    "max_retired_open": 0,
    "feed_max_age_hours": 48,
    "max_stale_feeds": 0,
    "max_assessment_gap_days": 14,
    "partial_assessment_gap_days": 30,
    "min_assessed_ratio": 1.0,
    "min_in_sla_ratio": 0.95,
    "partial_in_sla_ratio": 0.80,
    "max_p0_p1_overdue": 0,
    "max_kev_past_due": 0,
    "min_kev_in_due_ratio": 1.0,
    "partial_kev_in_due_ratio": 0.90,
    "min_overdue_covered_ratio": 1.0,
    "partial_overdue_covered_ratio": 0.50,
    "max_exception_days": 90,
    "max_long_exceptions": 0,
    "nofix_review_days": 30,
    "max_nofix_unreviewed": 0,
    "min_sbom_ratio": 1.0,
    "partial_sbom_ratio": 0.90,
    "min_ntia_completeness": 0.95,
    "partial_ntia_completeness": 0.80,
    "min_audit_chain_intact": 1,
    "min_digest_ratio": 1.0,
    "min_retention_days": 1827,
    "min_reporting_months_ratio": 1.0,
    "partial_reporting_months_ratio": 0.5,
}

LEGAL_NODES = {
    "gdpr": ["5.1.f", "5.2", "24", "28.3.c", "30.1.g", "32.1.b", "32.1.d", "32.2", "33.5"],
    "ccpa": ["1798.100.e", "1798.81.5.b", "1798.81.5.c", "1798.150.a.1", "1798.150.b"],
    "cppa-regs": ["7122.d", "7122.g", "7123.c.4.B", "7123.c.5.A", "7123.c.5.D", "7123.c.6"],
}
IDENTIFIER_ONLY = {
    "cis-v8": ["1.1", "2.1", "2.2", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "7.7"],
    "pci-dss-4": ["6.3.1", "6.3.3", "11.3.1"],
    "iso27001-2022": ["A.8.8"],
    "nist-800-53r5": ["CM-8", "RA-5", "SI-2", "SI-2(3)"],
}
GDPR_ORDER = [
    "5", "5.1", "5.1.f", "5.2", "24", "28", "28.3", "28.3.c", "30", "30.1", "30.1.g",
    "32", "32.1", "32.1.b", "32.1.d", "32.2", "33", "33.5",
]  # fmt: skip
# (control, framework, ref, relationship or None for any)
REQUIRED_MAPPINGS = [
    ("PTL-PATCH-01", "gdpr", "32.1.b", "intersect"),
    ("PTL-PATCH-01", "gdpr", "5.1.f", "intersect"),
    ("PTL-PATCH-01", "cppa-regs", "7123.c.5.D", "subset"),
    ("PTL-PATCH-01", "ccpa", "1798.150.a.1", "intersect"),
    ("PTL-PATCH-01", "ccpa", "1798.81.5.b", "intersect"),
    ("PTL-PATCH-01", "pci-dss-4", "6.3.3", None),
    ("PTL-PATCH-01", "cis-v8", "7.7", None),
    ("PTL-PATCH-01", "nist-800-53r5", "SI-2", None),
    ("PTL-PATCH-01", "iso27001-2022", "A.8.8", None),
    ("PTL-AUD-01", "cppa-regs", "7122.d", None),
    ("PTL-AUD-01", "cppa-regs", "7122.g", None),
    ("PTL-AUD-01", "gdpr", "5.2", None),
    ("PTL-AUD-02", "gdpr", "32.1.d", None),
    ("PTL-INV-01", "cppa-regs", "7123.c.4.B", None),
    ("PTL-INV-02", "cppa-regs", "7123.c.4.B", None),
    ("PTL-VULN-02", "cppa-regs", "7123.c.6", None),
    ("PTL-VULN-02", "gdpr", "32.1.d", None),
    ("PTL-EXC-01", "gdpr", "24", None),
    ("PTL-EXC-01", "gdpr", "32.2", None),
    ("PTL-SBOM-01", "cppa-regs", "7123.c.4.B", None),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return catalog_load()


# --- the shipped catalog ----------------------------------------------------------------------


def test_shipped_catalog_loads_once(catalog: Catalog) -> None:
    assert catalog.id == "patchproof-controls"
    assert catalog.version == "2026.11.0"
    assert catalog.title and catalog.description
    assert re.fullmatch(r"[0-9a-f]{64}", catalog.digest)
    assert catalog_load() is catalog
    shipped = sorted(p.name for p in (DATA_DIR / "frameworks").iterdir())
    assert shipped == [f"{fid}.yaml" for fid in sorted(catalog.frameworks)]
    assert sorted(catalog.frameworks) == sorted([*LEGAL_NODES, *IDENTIFIER_ONLY])


def test_module_constants() -> None:
    assert set(CONDITIONS) == {
        "hosts", "inventory_fresh", "feeds_fresh", "feeds_ran", "kev_feed", "retired_feed"
    }  # fmt: skip
    assert set(EVIDENCE_KINDS) == {
        "exposures", "hosts", "sbom_documents", "feed_runs", "exceptions", "audit_log",
        "packets", "assessments", "settings",
    }  # fmt: skip
    assert set(UNITS) == {"ratio", "count", "days", "hours", "bool"}
    assert set(RELATIONSHIPS) == {"equal", "subset", "superset", "intersect"}


def test_controls_and_metrics_are_the_contract(catalog: Catalog) -> None:
    assert [c.id for c in catalog.controls] == list(CONTRACT)
    for control in catalog.controls:
        requires, metrics = CONTRACT[control.id]
        assert list(control.requires) == requires, control.id
        found = [
            (
                m.id,
                m.unit,
                m.threshold.op if m.threshold else None,
                m.threshold.param if m.threshold else None,
                m.partial.param if m.partial else None,
            )
            for m in control.metrics
        ]
        assert found == metrics, control.id
        assert control.title and control.statement and control.evidence
        for metric in control.metrics:
            assert metric.label and len(metric.formula) > 40, metric.id
            if metric.partial is not None:
                assert metric.threshold is not None
                assert metric.partial.op == metric.threshold.op


def test_parameters_have_the_default_values(catalog: Catalog) -> None:
    assert {pid: p.value for pid, p in catalog.parameters.items()} == PARAMETERS
    for parameter in catalog.parameters.values():
        assert parameter.unit in UNITS and parameter.description
        if parameter.unit == "ratio":
            assert 0 <= parameter.value <= 1
    assert catalog.parameters["min_retention_days"].unit == "days"
    assert catalog.parameters["feed_max_age_hours"].unit == "hours"
    assert catalog.parameters["min_audit_chain_intact"].unit == "bool"
    assert "7122(g)" in (catalog.parameters["min_retention_days"].source or "")
    assert "BOD 23-01" in (catalog.parameters["inventory_max_age_days"].source or "")


def test_every_threshold_names_a_parameter_of_its_unit(catalog: Catalog) -> None:
    for control in catalog.controls:
        for metric in control.metrics:
            for level in (metric.threshold, metric.partial):
                if level is not None:
                    assert catalog.parameters[level.param].unit == metric.unit


@pytest.mark.parametrize(
    ("framework", "ref"), [(f, r) for f, refs in LEGAL_NODES.items() for r in refs]
)
def test_legal_node_exists_and_is_mapped(catalog: Catalog, framework: str, ref: str) -> None:
    node = catalog.frameworks[framework].node(ref)
    assert node.label and node.summary
    assert [m for m in catalog.mappings if (m.framework, m.ref) == (framework, ref)]


def test_legal_labels_and_quotes(catalog: Catalog) -> None:
    fw = catalog.frameworks
    assert fw["gdpr"].node("32.1.b").label == "Art. 32(1)(b)"
    assert fw["ccpa"].node("1798.150.a.1").label == "Civ. Code §1798.150(a)(1)"
    assert fw["cppa-regs"].node("7123.c.5.D").label == "11 CCR §7123(c)(5)(D)"
    for framework_id in LEGAL_NODES:
        assert fw[framework_id].text == "summary"
        for node in fw[framework_id].nodes:
            assert node.quote is None or len(node.quote) <= 250, node.ref


def test_every_control_maps_to_a_legal_requirement(catalog: Catalog) -> None:
    for control in catalog.controls:
        legal = [m for m, _node in catalog.nodes_for(control.id) if m.framework in LEGAL_NODES]
        assert legal, control.id
        assert all(m.rationale for m, _node in catalog.nodes_for(control.id))


def test_every_leaf_node_is_mapped(catalog: Catalog) -> None:
    mapped = {(m.framework, m.ref) for m in catalog.mappings}
    for framework in catalog.frameworks.values():
        parents = {node.parent for node in framework.nodes}
        for node in framework.nodes:
            if node.ref not in parents:
                assert (framework.id, node.ref) in mapped, (framework.id, node.ref)


@pytest.mark.parametrize(("control", "framework", "ref", "relationship"), REQUIRED_MAPPINGS)
def test_reference_mappings_present(
    catalog: Catalog, control: str, framework: str, ref: str, relationship: str | None
) -> None:
    found = [
        m for m, node in catalog.nodes_for(control) if (m.framework, node.ref) == (framework, ref)
    ]
    assert len(found) == 1
    if relationship is not None:
        assert found[0].relationship == relationship
    assert found[0].strength is None or 1 <= found[0].strength <= 10


def test_identifier_only_frameworks_carry_no_text(catalog: Catalog) -> None:
    for framework_id, refs in IDENTIFIER_ONLY.items():
        framework = catalog.frameworks[framework_id]
        assert framework.text == "none"
        assert [node.ref for node in framework.nodes] == refs
        assert all(node.summary is None and node.quote is None for node in framework.nodes)
        assert framework.source_url.startswith("https://") and framework.licence


def test_controls_for_gdpr_in_file_order(catalog: Catalog) -> None:
    sections = catalog.controls_for("gdpr")
    assert [node.ref for node, _ in sections] == GDPR_ORDER
    by_ref = {node.ref: [c.id for _m, c in controls] for node, controls in sections}
    assert by_ref["5"] == []
    assert by_ref["32.1.b"] == ["PTL-INV-01", "PTL-INV-03", "PTL-PATCH-01", "PTL-PATCH-02"]
    assert by_ref["32.1.d"] == ["PTL-VULN-02", "PTL-AUD-02"]
    for node, controls in sections:
        assert all(m.ref == node.ref and m.control == c.id for m, c in controls)


def test_lookups_refuse_unknown_ids(catalog: Catalog) -> None:
    assert catalog.control("PTL-AUD-02").metric("reporting_months_ratio").unit == "ratio"
    with pytest.raises(KeyError):
        catalog.control("PTL-NOPE-01")
    with pytest.raises(KeyError):
        catalog.nodes_for("PTL-NOPE-01")
    with pytest.raises(KeyError):
        catalog.controls_for("hipaa")
    with pytest.raises(KeyError):
        catalog.frameworks["gdpr"].node("99")


def test_threshold_holds(catalog: Catalog) -> None:
    params = catalog.parameters
    at_least = Threshold(">=", "min_in_sla_ratio")
    assert at_least.holds(0.95, params)
    assert at_least.holds(19 / 20, params)
    assert not at_least.holds(0.9499, params)
    assert not at_least.holds(None, params)
    assert not at_least.holds(math.nan, params)
    assert at_least.holds(0.91, {"min_in_sla_ratio": 0.9})  # plain numbers, e.g. overrides
    at_most = Threshold("<=", "max_p0_p1_overdue")
    assert at_most.holds(0, params)
    assert not at_most.holds(1, params)
    assert Threshold(">=", "min_audit_chain_intact").holds(True, params)
    assert not Threshold(">=", "min_audit_chain_intact").holds(0, params)
    with pytest.raises(KeyError):
        Threshold(">=", "absent").holds(1.0, params)


# --- copies of the data: digest and validation ------------------------------------------------


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(directory: Path, name: str, change: Callable[[Any], None]) -> None:
    """Apply `change` to the parsed YAML of `directory/name` and write it back."""
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_digest_is_stable_and_follows_the_data(tmp_path: Path, catalog: Catalog) -> None:
    directory = copy_data(tmp_path)
    assert catalog_load(directory).digest == catalog.digest
    assert catalog_load(directory) == catalog
    # Comments, layout and key order do not matter, only the data.
    for name in ("controls.yaml", "mappings.yaml", "frameworks/gdpr.yaml"):
        edit(directory, name, lambda data: None)
    assert catalog_load(directory).digest == catalog.digest

    def lower_target(data: Any) -> None:
        data["parameters"][11]["value"] = 0.9

    edit(directory, "controls.yaml", lower_target)
    changed = catalog_load(directory)
    assert changed.parameters["min_in_sla_ratio"].value == 0.9
    assert changed.digest != catalog.digest

    def reword(data: Any) -> None:
        data["mappings"][0]["rationale"] += " Reworded."

    edit(directory, "mappings.yaml", reword)
    assert catalog_load(directory).digest not in (catalog.digest, changed.digest)


def _metric(data: Any, control: int, metric: int) -> dict[str, Any]:
    result: dict[str, Any] = data["controls"][control]["metrics"][metric]
    return result


BAD: dict[str, tuple[str, Callable[[Any], None], str, str]] = {
    # case: (file, change, key path, words in the message)
    "unknown top key": (
        "controls.yaml",
        lambda d: d.update(colour="blue"),
        "colour",
        "unknown key",
    ),
    "unknown control key": (
        "controls.yaml",
        lambda d: d["controls"][0].update(owner="x"),
        "controls[0].owner",
        "unknown key",
    ),
    "missing statement": (
        "controls.yaml",
        lambda d: d["controls"][3].pop("statement"),
        "controls[3].statement",
        "required key is missing",
    ),
    "duplicate control id": (
        "controls.yaml",
        lambda d: d["controls"][1].update(id="PTL-INV-01"),
        "controls[1].id",
        "'PTL-INV-01' appears twice",
    ),
    "malformed control id": (
        "controls.yaml",
        lambda d: d["controls"][0].update(id="INV-1"),
        "controls[0].id",
        "not a valid control id",
    ),
    "duplicate metric id": (
        "controls.yaml",
        lambda d: _metric(d, 5, 1).update(id="in_sla_ratio"),
        "controls[5].metrics[1].id",
        "'in_sla_ratio' appears twice",
    ),
    "duplicate parameter id": (
        "controls.yaml",
        lambda d: d["parameters"][1].update(id="inventory_max_age_days"),
        "parameters[1].id",
        "appears twice",
    ),
    "unknown unit": (
        "controls.yaml",
        lambda d: _metric(d, 0, 0).update(unit="percent"),
        "controls[0].metrics[0].unit",
        "unknown unit 'percent'",
    ),
    "unknown operator": (
        "controls.yaml",
        lambda d: _metric(d, 0, 0)["threshold"].update(op=">"),
        "controls[0].metrics[0].threshold.op",
        "unknown operator '>'",
    ),
    "threshold names a missing parameter": (
        "controls.yaml",
        lambda d: _metric(d, 5, 0)["threshold"].update(param="min_in_sla"),
        "controls[5].metrics[0].threshold.param",
        "unknown parameter 'min_in_sla'",
    ),
    "threshold in another unit": (
        "controls.yaml",
        lambda d: _metric(d, 0, 1)["threshold"].update(param="min_reporting_ratio"),
        "controls[0].metrics[1].threshold.param",
        "is in ratio, the metric in days",
    ),
    "partial without threshold": (
        "controls.yaml",
        lambda d: _metric(d, 0, 0).pop("threshold"),
        "controls[0].metrics[0].partial",
        "needs a threshold",
    ),
    "partial with another operator": (
        "controls.yaml",
        lambda d: _metric(d, 4, 0)["partial"].update(op=">="),
        "controls[4].metrics[0].partial.op",
        "differs from the threshold's '<='",
    ),
    "partial stricter than threshold": (
        "controls.yaml",
        lambda d: d["parameters"][12].update(value=0.99),
        "controls[5].metrics[0].partial.param",
        "stricter than the threshold",
    ),
    "unknown condition": (
        "controls.yaml",
        lambda d: d["controls"][2]["requires"].__setitem__(1, "inventory_recent"),
        "controls[2].requires[1]",
        "unknown condition 'inventory_recent'",
    ),
    "unknown evidence kind": (
        "controls.yaml",
        lambda d: d["controls"][0]["evidence"].__setitem__(0, "tickets"),
        "controls[0].evidence[0]",
        "unknown evidence kind 'tickets'",
    ),
    "ratio out of range": (
        "controls.yaml",
        lambda d: d["parameters"][1].update(value=1.5),
        "parameters[1].value",
        "between 0 and 1",
    ),
    "fractional days": (
        "controls.yaml",
        lambda d: d["parameters"][0].update(value=7.5),
        "parameters[0].value",
        "whole number of days",
    ),
    "number as a string": (
        "controls.yaml",
        lambda d: d["parameters"][0].update(value="7"),
        "parameters[0].value",
        "expected a number",
    ),
    "unquoted version": (
        "controls.yaml",
        lambda d: d["catalog"].update(version=2026),
        "catalog.version",
        "expected a string",
    ),
    "mapping to a missing control": (
        "mappings.yaml",
        lambda d: d["mappings"][0].update(control="PTL-XYZ-99"),
        "mappings[0].control",
        "unknown control 'PTL-XYZ-99'",
    ),
    "mapping to a missing framework": (
        "mappings.yaml",
        lambda d: d["mappings"][0].update(framework="hipaa"),
        "mappings[0].framework",
        "unknown framework 'hipaa'",
    ),
    "mapping to a missing ref": (
        "mappings.yaml",
        lambda d: d["mappings"][0].update(ref="7123.c.99"),
        "mappings[0].ref",
        "unknown requirement '7123.c.99' in frameworks/cppa-regs.yaml",
    ),
    "unknown relationship": (
        "mappings.yaml",
        lambda d: d["mappings"][0].update(relationship="overlaps"),
        "mappings[0].relationship",
        "unknown relationship 'overlaps'",
    ),
    "strength out of range": (
        "mappings.yaml",
        lambda d: d["mappings"][0].update(strength=11),
        "mappings[0].strength",
        "from 1 to 10",
    ),
    "duplicate mapping": (
        "mappings.yaml",
        lambda d: d["mappings"].insert(1, dict(d["mappings"][0])),
        "mappings[1]",
        "'PTL-INV-01 -> cppa-regs 7123.c.4.B' appears twice",
    ),
    "unknown parent": (
        "frameworks/gdpr.yaml",
        lambda d: d["nodes"][2].update(parent="5.9"),
        "nodes[2].parent",
        "unknown parent '5.9'",
    ),
    "parent listed after its child": (
        "frameworks/gdpr.yaml",
        lambda d: d["nodes"][2].update(parent="32"),
        "nodes[2].parent",
        "unknown parent '32'",
    ),
    "duplicate node": (
        "frameworks/gdpr.yaml",
        lambda d: d["nodes"][3].update(ref="5.1.f"),
        "nodes[3].ref",
        "'5.1.f' appears twice",
    ),
    "unquoted ref": (
        "frameworks/gdpr.yaml",
        lambda d: d["nodes"][0].update(ref=5),
        "nodes[0].ref",
        "quote it",
    ),
    "summary in an identifier-only framework": (
        "frameworks/cis-v8.yaml",
        lambda d: d["nodes"][0].update(summary="Our words."),
        "nodes[0].summary",
        "identifier-only",
    ),
    "quote in an identifier-only framework": (
        "frameworks/pci-dss-4.yaml",
        lambda d: d["nodes"][1].update(quote="Their words."),
        "nodes[1].quote",
        "identifier-only",
    ),
    "framework id differs from file": (
        "frameworks/ccpa.yaml",
        lambda d: d["framework"].update(id="cpra"),
        "framework.id",
        "differs from the file name",
    ),
    "unknown text level": (
        "frameworks/gdpr.yaml",
        lambda d: d["framework"].update(text="partial"),
        "framework.text",
        "unknown text level 'partial'",
    ),
    "bad source url": (
        "frameworks/gdpr.yaml",
        lambda d: d["framework"].update(source_url="ftp://example.org/gdpr"),
        "framework.source_url",
        "not an http(s) URL",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_data_names_the_file_and_key_path(tmp_path: Path, case: str) -> None:
    name, change, where, what = BAD[case]
    directory = copy_data(tmp_path)
    edit(directory, name, change)
    with pytest.raises(CatalogError) as excinfo:
        catalog_load(directory)
    message = str(excinfo.value)
    assert message.startswith(f"{name}: {where}: "), message
    assert what in message, message
    assert isinstance(excinfo.value, ValueError)


def test_brief_example_message(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    edit(directory, "controls.yaml", BAD["threshold names a missing parameter"][1])
    with pytest.raises(CatalogError) as excinfo:
        catalog_load(directory)
    assert str(excinfo.value) == (
        "controls.yaml: controls[5].metrics[0].threshold.param: unknown parameter 'min_in_sla'"
    )


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("- just\n- a list\n", "controls.yaml: expected a mapping, got list"),
        ("", "controls.yaml: expected a mapping, got null"),
        ("controls: [\n", "controls.yaml: not valid YAML"),
        ("!!python/object/apply:os.system ['true']\n", "controls.yaml: not valid YAML"),
    ],
)
def test_not_a_catalog_document(tmp_path: Path, text: str, what: str) -> None:
    directory = copy_data(tmp_path)
    (directory / "controls.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=re.escape(what)):
        catalog_load(directory)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    path = directory / "frameworks" / "gdpr.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "framework: {}\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^frameworks/gdpr\.yaml: not valid YAML: .*duplicate"):
        catalog_load(directory)


def test_missing_files(tmp_path: Path) -> None:
    directory = copy_data(tmp_path)
    (directory / "mappings.yaml").unlink()
    with pytest.raises(CatalogError, match=r"^mappings\.yaml: cannot be read"):
        catalog_load(directory)
    shutil.rmtree(directory / "frameworks")
    with pytest.raises(CatalogError, match=r"^frameworks/: no framework files"):
        catalog_load(directory)
