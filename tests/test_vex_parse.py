"""VEX documents (evidence/vex.py): real OpenVEX, CycloneDX and CSAF files with pinned
statements, refused input (truncated, oversized, not VEX at all) and hand-written documents.
Bad statements and mistyped fields are in test_vex_parse_bad.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.vex import JUSTIFICATIONS, STATUSES, VexDocument, VexError, VexStatement, vex_parse
from tests.vex_support import _cdx_doc, _csaf_doc, _dump, _openvex_doc, _refused

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def _fixture(relative: str) -> bytes:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return (FIXTURES / relative).read_bytes()


def _parse(relative: str) -> VexDocument:
    return vex_parse(_fixture(relative))


def _by_id(document: VexDocument) -> dict[str, VexStatement]:
    return {statement.vulnerability: statement for statement in document.statements}


# Real documents -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "kind", "count"),
    [
        ("vex/trivy_openvex.json", "openvex", 1),
        ("cyclonedx/bom-examples_vex_cdx1.4.json", "cyclonedx", 1),
        ("cyclonedx/bom-examples_cisa-case1_vex-fixed_cdx1.4.json", "cyclonedx", 1),
        ("cyclonedx/bom-examples_cisa-case1_vex-affected_cdx1.4.json", "cyclonedx", 1),
        ("cyclonedx/bom-examples_cisa-case2_vex_cdx1.4.json", "cyclonedx", 19),
        ("cyclonedx/cdxlib-schemaTestData_valid-vulnerability-1.6.json", "cyclonedx", 1),
        ("csaf/oasis-csaf20-vex_2022-evd-uc-01-a-001.json", "csaf", 1),
        ("csaf/oasis-csaf20-vex_2022-evd-uc-01-f-001.json", "csaf", 1),
        ("csaf/oasis-csaf20-vex_2022-evd-uc-02-na-001.json", "csaf", 19),
        ("csaf/oasis-csaf20-vex_sec-vex-2022-0001.json", "csaf", 3),
        ("csaf/trustify_CVE-2023-20862.json", "csaf", 4),
        ("csaf/trustify_cve-2023-0044.json", "csaf", 4),
        ("csaf/csaf-lib_redhat-vex_cve-2023-20593_TRIMMED.json", "csaf", 7),
    ],
)
def test_fixture_statement_counts(relative: str, kind: str, count: int) -> None:
    document = _parse(relative)
    assert document.format == kind
    assert len(document.statements) == count
    assert document.warnings == ()
    for statement in document.statements:
        assert statement.status in STATUSES
        assert statement.justification in {*JUSTIFICATIONS, ""}
        assert statement.products or statement.product_ids
        assert statement.timestamp is None or statement.timestamp.utcoffset() is not None


def test_trivy_openvex() -> None:
    document = _parse("vex/trivy_openvex.json")
    assert document.document_id == (
        "aquasecurity/trivy:613fd55abbc2857b5ca28b07a26f3cd4c8b0ddc4c8a97c57497a2d4c4880d7fc"
    )
    assert document.author == "Aqua Security"
    assert document.issued_at == datetime.fromisoformat("2024-07-09T11:38:00.115697+04:00")
    (statement,) = document.statements
    assert statement == VexStatement(
        vulnerability="CVE-2022-23628",
        aliases=(),
        status="not_affected",
        justification="vulnerable_code_not_in_execute_path",
        impact_statement="The vulnerable code isn't called",
        products=(
            "pkg:golang/github.com/testdata/testdata",
            "pkg:golang/github.com/open-policy-agent/opa@v0.35.0",
        ),
        product_ids=(
            "pkg:golang/github.com/testdata/testdata",
            "pkg:golang/github.com/open-policy-agent/opa@v0.35.0",
        ),
        timestamp=document.issued_at,
        action="",
    )


def test_cyclonedx_vex_resolves_a_bom_link_to_its_purl() -> None:
    document = _parse("cyclonedx/bom-examples_vex_cdx1.4.json")
    assert (document.document_id, document.author, document.issued_at) == ("", "", None)
    (statement,) = document.statements
    assert statement.vulnerability == "CVE-2020-25649"
    assert statement.aliases == ("SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302",)
    assert statement.status == "not_affected"
    assert statement.justification == "vulnerable_code_not_in_execute_path"  # code_not_reachable
    assert statement.products == (
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
    )
    assert statement.product_ids == (
        "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#"
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
    )
    assert statement.action == "will_not_fix, update"
    assert statement.impact_statement.startswith("Automated dataflow analysis")
    assert statement.timestamp is None


def test_cisa_case1_fixed_and_affected() -> None:
    fixed = _parse("cyclonedx/bom-examples_cisa-case1_vex-fixed_cdx1.4.json").statements[0]
    affected = _parse("cyclonedx/bom-examples_cisa-case1_vex-affected_cdx1.4.json").statements[0]
    for statement in (fixed, affected):
        assert statement.vulnerability == "CVE-2021-44228"
        assert statement.products == ()  # product-DEF has no purl
        assert statement.product_ids == ("product-DEF",)
        assert statement.timestamp == datetime(2022, 3, 3, tzinfo=UTC)
        assert statement.justification == ""
    assert (fixed.status, fixed.action) == ("fixed", "")  # resolved
    assert fixed.impact_statement == "This version of Product DEF has been fixed."
    assert (affected.status, affected.action) == ("affected", "will_not_fix, update")


def test_cisa_case2_nineteen_not_affected() -> None:
    statements = _parse("cyclonedx/bom-examples_cisa-case2_vex_cdx1.4.json").statements
    assert [s.vulnerability for s in statements] == [f"CVE-2020-{n}" for n in range(11896, 11915)]
    assert {s.status for s in statements} == {"not_affected"}
    assert {s.justification for s in statements} == {"vulnerable_code_not_in_execute_path"}
    assert {s.product_ids for s in statements} == {("product-ABC",)}


def test_cyclonedx_16_prefers_the_cve_alias_and_resolves_bom_refs() -> None:
    document = _parse("cyclonedx/cdxlib-schemaTestData_valid-vulnerability-1.6.json")
    assert document.document_id == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    (statement,) = document.statements
    assert statement.vulnerability == "CVE-2018-7489"
    assert statement.aliases == ("SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111",)
    assert statement.products == ("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4",)
    assert statement.timestamp == datetime(2022, 2, 1, tzinfo=UTC)  # analysis.lastUpdated


def test_csaf_use_case_documents() -> None:
    affected = _parse("csaf/oasis-csaf20-vex_2022-evd-uc-01-a-001.json")
    assert (affected.document_id, affected.author) == (
        "2022-EVD-UC-01-A-001",
        "Example Company ProductCERT",
    )
    assert affected.issued_at == datetime(2022, 3, 3, 11, tzinfo=UTC)
    (statement,) = affected.statements
    assert (statement.vulnerability, statement.status) == ("CVE-2021-44228", "affected")
    assert statement.product_ids == ("CSAFPID-0001",)
    assert statement.action == (
        "vendor_fix: Customers should update to version 1.1 of product DEF which fixes the issue."
    )
    fixed = _parse("csaf/oasis-csaf20-vex_2022-evd-uc-01-f-001.json").statements[0]
    assert (fixed.vulnerability, fixed.status, fixed.product_ids) == (
        "CVE-2021-44228",
        "fixed",
        ("CSAFPID-0001",),
    )
    not_affected = _parse("csaf/oasis-csaf20-vex_2022-evd-uc-02-na-001.json").statements
    assert {s.status for s in not_affected} == {"not_affected"}
    assert {s.justification for s in not_affected} == {""}  # no flags, an impact statement
    assert {s.impact_statement for s in not_affected} == {
        "Linux TCP/IP used and therefore not vulnerable."
    }


def test_csaf_flags_give_the_justification() -> None:
    document = _parse("csaf/oasis-csaf20-vex_sec-vex-2022-0001.json")
    assert [s.vulnerability for s in document.statements] == [
        "CVE-2021-44228",
        "CVE-2021-45046",
        "CVE-2021-45105",
    ]
    for statement in document.statements:
        assert statement.status == "not_affected"
        assert statement.justification == "component_not_present"
        assert statement.impact_statement == (
            "Secvisogram is written in JavaScript. No Java is included."
        )


def test_red_hat_per_cve_vex_groups_products_by_remediation() -> None:
    document = _parse("csaf/trustify_CVE-2023-20862.json")
    assert (document.document_id, document.author) == (
        "CVE-2023-20862",
        "Red Hat Product Security",
    )
    statements = document.statements
    assert [(s.status, len(s.product_ids), s.action) for s in statements] == [
        ("affected", 2, "none_available: Affected"),
        ("affected", 3, "no_fix_planned: Will not fix"),
        ("affected", 8, "no_fix_planned: Out of support scope"),
        ("not_affected", 9, ""),
    ]
    not_affected = statements[3]
    assert not_affected.justification == "vulnerable_code_not_present"
    assert "red_hat_enterprise_linux_8:log4j:2/log4j" in not_affected.product_ids
    assert {s.vulnerability for s in statements} == {"CVE-2023-20862"}
    assert {s.aliases for s in statements} == {("2227788",)}  # the Bugzilla id
    assert {s.products for s in statements} == {()}  # products named without purls
    # Red Hat's "impact" threats are severities ("Moderate"), not impact statements.
    assert {s.impact_statement for s in statements} == {""}


def test_red_hat_vex_fixed_affected_not_affected() -> None:
    statements = _parse("csaf/trustify_cve-2023-0044.json").statements
    assert [(s.status, s.product_ids) for s in statements[:3]] == [
        ("fixed", ("Red Hat build of Quarkus",)),
        ("fixed", ("Red Hat build of Quarkus 2.7.7",)),
        ("affected", ("red_hat_build_of_quarkus:io.quarkus/quarkus-vertx-http",)),
    ]
    assert "(https://access.redhat.com/errata/RHSA-2023:0758)" in statements[0].action
    assert "(https://access.redhat.com/errata/RHSA-2023:1006)" in statements[1].action
    assert statements[3].status == "not_affected"
    assert statements[3].justification == "vulnerable_code_not_present"
    assert len(statements[3].product_ids) == 9


def test_red_hat_vex_resolves_relationships_to_component_purls() -> None:
    statements = _parse("csaf/csaf-lib_redhat-vex_cve-2023-20593_TRIMMED.json").statements
    assert [s.status for s in statements] == ["fixed"] * 6 + ["not_affected"]
    first = statements[0]
    assert first.product_ids[0] == "7Server-7.9.Z:bpftool-0:3.10.0-1160.99.1.el7.ppc64"
    assert first.products[0] == "pkg:rpm/redhat/bpftool@3.10.0-1160.99.1.el7?arch=ppc64"
    assert len(first.products) == len(first.product_ids) == 45
    assert "pkg:rpm/redhat/iwl1000-firmware@39.31.5.1-81.el7_9?arch=noarch&epoch=1" in (
        statements[1].products
    )
    assert statements[6].justification == "vulnerable_code_not_present"
    assert statements[6].products[0] == (
        "pkg:rpm/redhat/kernel-headers@3.10.0-1160.99.1.el7?arch=ppc64"
    )


# Refused documents ----------------------------------------------------------------------


def test_empty_and_non_json_input_is_refused() -> None:
    assert "empty" in _refused(b"").message
    assert "empty" in _refused(b"  \n\t").message
    assert _refused(b"\x00\xff\xfe garbage").message.startswith("not JSON")
    assert _refused(b"<?xml version='1.0'?><bom/>").message.startswith("not JSON")
    assert "not a VEX document: the JSON is an array" in _refused(b"[1, 2]").message
    assert _refused(b'"a string"').location == "$"


def test_truncated_json_is_refused_with_its_line() -> None:
    whole = _dump(_openvex_doc())
    error = _refused(whole[: len(whole) // 2])
    assert "truncated" in error.message
    assert error.location.startswith("line 1, column")


def test_too_big_and_too_deep_documents_are_refused() -> None:
    error = _refused_with(_dump(_openvex_doc()), max_bytes=100)
    assert "over the 100-byte limit" in error.message
    deep = b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}"
    assert "nested deeper" in _refused(deep).message


def _refused_with(data: bytes, *, max_bytes: int) -> VexError:
    with pytest.raises(VexError) as caught:
        vex_parse(data, max_bytes=max_bytes)
    return caught.value


def test_a_plain_cyclonedx_sbom_is_refused() -> None:
    inline = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    assert "SBOM without vulnerabilities" in _refused(_dump(inline)).message
    error = _refused(_fixture("cyclonedx/bom-examples_laravel-7.12.0_cdx1.4.json"))
    assert error.message == "a CycloneDX SBOM without vulnerabilities is not a VEX document"
    assert error.location == "$.vulnerabilities"


def test_a_cyclonedx_report_without_analysis_is_refused() -> None:
    report = _cdx_doc()
    for vuln in report["vulnerabilities"]:
        del vuln["analysis"]
    error = _refused(_dump(report))
    assert "no usable VEX statement: all 2 were skipped" in error.message
    assert "vulnerability report entry, not VEX" in error.message
    assert error.location == "$.vulnerabilities[0].analysis"


def test_other_json_documents_are_named() -> None:
    osv_inline = {"id": "GHSA-xxxx-yyyy-zzzz", "modified": "2024-01-01T00:00:00Z"}
    assert "OSV record" in _refused(_dump(osv_inline)).message
    assert "SPDX" in _refused(_dump({"spdxVersion": "SPDX-2.3", "packages": []})).message
    assert "no VEX format" in _refused(b'{"hello": "world"}').message
    csaf_without_vulnerabilities = _csaf_doc()
    del csaf_without_vulnerabilities["vulnerabilities"]
    error = _refused(_dump(csaf_without_vulnerabilities))
    assert error.message == (
        "a CSAF document (csaf_vex) without product statuses is not a VEX document"
    )
    osv = _refused(_fixture("osv/osv-schema_linter_GO-2024-2963.json"))
    assert (osv.message, osv.location) == ("an OSV record, not a VEX document", "$")
    assert "CVE record" in _refused(_fixture("cve5/trustify_CVE-1999-0001.cve5.json")).message
    nvd = _fixture("nvd/vunnel_nvd-api2.0_single-entry.json")
    assert "NVD API response" in _refused(nvd).message
    informational = _fixture("csaf/oasis-csaf20_rhsa-2019_1862.json")
    assert "csaf_informational_advisory" in _refused(informational).message


def test_a_document_without_statements_is_refused() -> None:
    empty = _openvex_doc()
    empty["statements"] = []
    error = _refused(_dump(empty))
    assert (error.message, error.location) == ("the document has no VEX statements", "$.statements")


# Hand-written documents -----------------------------------------------------------------


def test_hand_written_openvex() -> None:
    document = vex_parse(_dump(_openvex_doc()))
    assert document.warnings == ()
    first, second = document.statements
    assert first.vulnerability == "CVE-2023-44487"  # upper-cased
    assert first.aliases == ("GHSA-qppj-fm5r-hxr3",)
    assert first.products == (
        "pkg:oci/app@sha256:abcd",  # canonical: the ':' needs no escaping
        "pkg:golang/golang.org/x/net@v0.7.0",
        "pkg:pypi/django@4.2",  # packageurl-python lowercases PyPI names
    )
    assert first.product_ids == ("pkg:oci/app@sha256%3Aabcd", "pkg:golang/golang.org/x/net@v0.7.0")
    assert first.timestamp == datetime(2024, 5, 1, 10, tzinfo=UTC)  # the document's
    assert (second.vulnerability, second.status, second.action) == (
        "GHSA-aaaa-bbbb-cccc",
        "affected",
        "Upgrade to 2.0",
    )
    assert (second.products, second.product_ids) == ((), ("https://example.com/product/1",))
    assert second.timestamp == datetime(2024, 5, 2, 8, tzinfo=UTC)  # no zone: UTC


def test_openvex_v0_0_string_forms() -> None:
    document = {
        "@context": "https://openvex.dev/ns",
        "@id": "old",
        "author": "someone",
        "timestamp": "2023-01-01T00:00:00Z",
        "statements": [
            {
                "vulnerability": "CVE-2022-0001",
                "products": ["pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"],
                "subcomponents": ["pkg:apk/wolfi/curl@7.87.0-r0"],
                "status": "fixed",
            }
        ],
    }
    (statement,) = vex_parse(_dump(document)).statements
    assert statement.products == (
        "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64",
        "pkg:apk/wolfi/curl@7.87.0-r0",
    )
    assert statement.status == "fixed"


def test_openvex_not_affected_without_reason_is_kept_with_a_warning() -> None:
    document = _openvex_doc()
    del document["statements"][0]["justification"]
    del document["statements"][0]["impact_statement"]
    parsed = vex_parse(_dump(document))
    assert len(parsed.statements) == 2
    assert parsed.warnings == (
        "$.statements[0]: not_affected without a justification or impact statement",
    )


def test_hand_written_cyclonedx() -> None:
    document = vex_parse(_dump(_cdx_doc()))
    assert document.author == "Alice, Bob"
    assert document.issued_at == datetime.fromisoformat("2024-06-01T00:00:00+02:00")
    triage, false_positive = document.statements
    assert triage.status == "under_investigation"
    assert triage.justification == ""  # only not_affected statements carry one
    assert triage.products == ("pkg:npm/b@3.0.0", "pkg:npm/app@1.0.0")  # nested, metadata
    assert triage.product_ids == ("lib-b", "app", "elsewhere")
    assert triage.timestamp == document.issued_at
    assert false_positive.vulnerability == "CVE-2024-0002"
    assert false_positive.aliases == ("GHSA-1111-2222-3333",)
    assert false_positive.status == "not_affected"
    assert false_positive.justification == "inline_mitigations_already_exist"
    assert false_positive.products == ("pkg:npm/%40scope/a@2.0.0",)
    assert false_positive.timestamp == datetime(2024, 6, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("code_not_present", "vulnerable_code_not_present"),
        ("code_not_reachable", "vulnerable_code_not_in_execute_path"),
        ("protected_at_runtime", "inline_mitigations_already_exist"),
        ("requires_configuration", "requires_configuration"),
        ("protected_at_perimeter", "protected_at_perimeter"),
    ],
)
def test_cyclonedx_justification_mapping(code: str, expected: str) -> None:
    document = _cdx_doc()
    document["vulnerabilities"][0]["analysis"] = {"state": "not_affected", "justification": code}
    assert vex_parse(_dump(document)).statements[0].justification == expected


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("resolved", "fixed"),
        ("resolved_with_pedigree", "fixed"),
        ("exploitable", "affected"),
        ("in_triage", "under_investigation"),
        ("false_positive", "not_affected"),
        ("not_affected", "not_affected"),
    ],
)
def test_cyclonedx_state_mapping(state: str, status: str) -> None:
    document = _cdx_doc()
    document["vulnerabilities"][0]["analysis"] = {"state": state}
    assert vex_parse(_dump(document)).statements[0].status == status


def test_hand_written_csaf() -> None:
    document = vex_parse(_dump(_csaf_doc()))
    assert (document.document_id, document.author) == ("ACME-VEX-1", "ACME PSIRT")
    assert document.issued_at == datetime(2024, 2, 1, tzinfo=UTC)  # current_release_date
    assert document.warnings == ()
    not_affected, investigating, fixed, affected = document.statements
    assert not_affected.vulnerability == "CVE-2024-1111"
    assert not_affected.aliases == ("GHSA-9999-8888-7777",)
    assert not_affected.justification == "vulnerable_code_cannot_be_controlled_by_adversary"
    assert not_affected.impact_statement == "Input is sanitised"
    # The relationship's product resolves to the purl of its component.
    assert not_affected.products == ("pkg:rpm/acme/libfoo@1.0-1?arch=x86_64",)
    assert not_affected.product_ids == ("A5:LIBFOO-1",)
    assert (investigating.status, investigating.products) == ("under_investigation", ())
    assert investigating.product_ids == ("APPLIANCE-5",)
    assert investigating.justification == investigating.impact_statement == ""
    assert (fixed.vulnerability, fixed.aliases, fixed.status) == ("ACME-2024-7", (), "fixed")
    assert fixed.action == "vendor_fix: Update (https://a/fix)"
    assert fixed.products == ("pkg:rpm/acme/libfoo@1.0-1?arch=x86_64",)
    assert (affected.status, affected.product_ids, affected.action) == (
        "affected",
        ("APPLIANCE-5",),
        "",
    )


def test_csaf_security_advisory_is_read_with_a_warning() -> None:
    document = _csaf_doc()
    document["document"]["category"] = "csaf_security_advisory"
    parsed = vex_parse(_dump(document))
    assert len(parsed.statements) == 4
    assert parsed.warnings == (
        "$.document.category: 'csaf_security_advisory': product statuses read as VEX",
    )
