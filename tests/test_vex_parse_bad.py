"""VEX documents (evidence/vex.py): hostile statements and fields written here
(unknown statuses, mistyped fields, huge strings, every field with every wrong type)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from evidence.vex import JUSTIFICATIONS, STATUSES, VexDocument, VexError, vex_parse
from tests.vex_support import _cdx_doc, _csaf_doc, _dump, _openvex_doc, _refused

# Bad statements -------------------------------------------------------------------------


def test_unknown_status_skips_only_that_statement() -> None:
    document = _openvex_doc()
    document["statements"][1]["status"] = "probably_fine"
    parsed = vex_parse(_dump(document))
    assert [s.vulnerability for s in parsed.statements] == ["CVE-2023-44487"]
    assert parsed.warnings == (
        "$.statements[1].status: unknown status 'probably_fine'; statement skipped",
    )
    document["statements"][0]["status"] = "nope"
    error = _refused(_dump(document))
    assert error.location == "$.statements[0].status"
    assert "all 2 were skipped" in error.message


def test_unknown_cyclonedx_state_and_csaf_status() -> None:
    cdx = _cdx_doc()
    cdx["vulnerabilities"][0]["analysis"]["state"] = "exploitable_maybe"
    parsed = vex_parse(_dump(cdx))
    assert len(parsed.statements) == 1
    assert parsed.warnings == (
        "$.vulnerabilities[0].analysis.state: unknown analysis state 'exploitable_maybe'; "
        "statement skipped",
    )
    csaf = _csaf_doc()
    csaf["vulnerabilities"][0]["product_status"]["known_sort_of"] = ["LIBFOO-1"]
    csaf["vulnerabilities"][0]["flags"][0]["label"] = "trust_me"
    parsed = vex_parse(_dump(csaf))
    assert parsed.warnings == (
        "$.vulnerabilities[0].flags[0].label: unknown justification 'trust_me'; flag skipped",
        "$.vulnerabilities[0].product_status.known_sort_of: unknown product status; not read",
    )
    assert parsed.statements[0].justification == ""


@pytest.mark.parametrize(
    ("make", "where", "expected"),
    [
        (_openvex_doc, "statements.0.products", "expected an array"),
        (_openvex_doc, "statements.0.vulnerability", "expected an object"),
        (_openvex_doc, "statements.0.timestamp", "expected a string"),
        (_openvex_doc, "statements.0.impact_statement", "expected a string"),
        (_cdx_doc, "vulnerabilities.0.id", "expected a string"),
        (_cdx_doc, "vulnerabilities.0.analysis", "expected an object"),
        (_cdx_doc, "vulnerabilities.0.affects", "expected an array"),
        (_csaf_doc, "vulnerabilities.0.product_status", "expected an object"),
        (_csaf_doc, "vulnerabilities.0.cve", "expected a string"),
    ],
)
def test_a_mistyped_field_skips_its_statement(make: Any, where: str, expected: str) -> None:
    document = make()
    path = [int(step) if step.isdigit() else step for step in where.split(".")]
    _set(document, path, 42)
    parsed = vex_parse(_dump(document))
    assert len(parsed.statements) >= 1
    json_path = "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
    message = f"{json_path}: {expected}, got a number; statement skipped"
    assert message in parsed.warnings


def test_a_mistyped_product_is_left_out_of_its_statement() -> None:
    openvex = _openvex_doc()
    openvex["statements"][0]["products"][0]["subcomponents"].append(42)
    parsed = vex_parse(_dump(openvex))
    assert len(parsed.statements[0].products) == 3
    assert parsed.warnings == (
        "$.statements[0].products[0].subcomponents[2]: expected an object, got a number; "
        "product skipped",
    )
    cdx = _cdx_doc()
    cdx["vulnerabilities"][0]["affects"][1] = {"ref": ["app"]}
    parsed = vex_parse(_dump(cdx))
    assert parsed.statements[0].product_ids == ("lib-b", "elsewhere")
    assert parsed.warnings == (
        "$.vulnerabilities[0].affects[1].ref: expected a string, got an array; product skipped",
    )
    csaf = _csaf_doc()
    csaf["vulnerabilities"][0]["product_status"]["known_not_affected"] += [None, "GHOST"]
    parsed = vex_parse(_dump(csaf))
    assert parsed.statements[0].product_ids == ("A5:LIBFOO-1",)
    assert parsed.statements[1].product_ids == ("GHOST",)  # no flag: a statement of its own
    assert parsed.statements[1].justification == ""
    assert parsed.warnings == (
        "$.vulnerabilities[0].product_status.known_not_affected[1]: missing or empty; "
        "product skipped",
        "$.vulnerabilities[0].product_status.known_not_affected: 'GHOST' is not in the "
        "product tree",
    )


def test_mistyped_document_fields_refuse_the_document() -> None:
    openvex = _openvex_doc()
    openvex["timestamp"] = "last tuesday"
    error = _refused(_dump(openvex))
    assert (error.location, error.message) == (
        "$.timestamp",
        "'last tuesday' is not an ISO 8601 date-time",
    )
    cdx = _cdx_doc()
    cdx["metadata"] = []
    assert _refused(_dump(cdx)).location == "$.metadata"
    csaf = _csaf_doc()
    csaf["product_tree"]["relationships"] = "none"
    assert _refused(_dump(csaf)).location == "$.product_tree.relationships"


def test_huge_strings() -> None:
    document = _openvex_doc()
    document["statements"][0]["impact_statement"] = "x" * 1_000_000
    document["statements"][1]["action_statement"] = "y" * 1_000_000
    first, second = vex_parse(_dump(document)).statements
    assert first.impact_statement == "x" * 2000
    assert second.action == "y" * 2000
    document["statements"][1]["vulnerability"]["@id"] = "CVE-" + "9" * 1_000_000
    parsed = vex_parse(_dump(document))
    assert len(parsed.statements) == 1
    (warning,) = parsed.warnings
    assert warning.startswith("$.statements[1].vulnerability['@id']: 'CVE-99999")
    assert warning.endswith("...' is longer than 2048 characters; statement skipped")
    document["statements"][0]["vulnerability"]["name"] = "CVE-" + "9" * 1_000_000
    error = _refused(_dump(document))
    assert error.location == "$.statements[0].vulnerability.name"
    assert "is longer than 256 characters" in error.message
    assert len(str(error)) < 400
    cdx = _cdx_doc()
    cdx["vulnerabilities"][0]["affects"].append({"ref": "pkg:npm/" + "a" * 100_000})
    parsed = vex_parse(_dump(cdx))
    assert len(parsed.statements) == 2
    assert parsed.statements[0].product_ids == ("lib-b", "app", "elsewhere")
    (warning,) = parsed.warnings
    assert warning.startswith("$.vulnerabilities[0].affects[3].ref: 'pkg:npm/aaaa")
    assert warning.endswith("is longer than 2048 characters; product skipped")


def test_warnings_are_capped() -> None:
    document = _openvex_doc()
    document["statements"] += [{"status": "fixed"}] * 5000
    parsed = vex_parse(_dump(document))
    assert len(parsed.statements) == 2
    assert len(parsed.warnings) == 1001
    assert parsed.warnings[-1] == "... and 4000 more warnings"


# Every field, every wrong type ----------------------------------------------------------


def _set(document: Any, path: list[Any], value: object) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


def _paths(value: Any, path: list[Any] | None = None) -> Iterator[list[Any]]:
    """The path of every value inside `value` (object members and array elements)."""
    path = path or []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield [*path, key]
        yield from _paths(child, [*path, key])


_WRONG: list[object] = [None, 42, -1.5, True, "", "x", [], [42], {}, {"x": 1}, "é" * 5000]


@pytest.mark.parametrize("make", [_openvex_doc, _cdx_doc, _csaf_doc])
def test_every_field_with_every_wrong_type_parses_or_is_refused(make: Any) -> None:
    original = make()
    baseline = len(vex_parse(_dump(original)).statements)
    tried = 0
    for path in _paths(original):
        for wrong in _WRONG:
            document = copy.deepcopy(original)
            _set(document, path, wrong)
            tried += 1
            try:
                parsed = vex_parse(_dump(document))
            except VexError as error:
                assert error.message
                assert error.location, (path, wrong, error)
                continue
            _check(parsed)
            if len(parsed.statements) < baseline and wrong not in (None, []):  # empty: absent
                assert parsed.warnings, (path, wrong)
    assert tried > 300


def _check(parsed: VexDocument) -> None:
    assert parsed.statements
    for statement in parsed.statements:
        assert isinstance(statement.vulnerability, str)
        assert statement.vulnerability
        assert statement.status in STATUSES
        assert statement.justification in {*JUSTIFICATIONS, "", "requires_environment"}
        assert len(statement.impact_statement) <= 2000
        assert len(statement.action) <= 2000
        assert all(purl.startswith("pkg:") for purl in statement.products)
        assert all(isinstance(ref, str) and ref for ref in statement.product_ids)
        assert statement.timestamp is None or statement.timestamp.tzinfo is not None
    assert all(isinstance(warning, str) for warning in parsed.warnings)
