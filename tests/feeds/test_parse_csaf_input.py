"""CSAF parser: hostile and malformed input (small documents written here) and the
changes.csv / deletions.csv indexes."""

from __future__ import annotations

import copy
import gzip
import json
import lzma
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import zstandard

from evidence.feeds import csaf
from evidence.feeds.model import FeedError, FeedLimits
from tests.feeds.csaf_support import _fixture

# --- hostile and malformed input (small documents written here) -----------------------------

PLATFORM = "AppStream-9.2.0.Z.EUS"
OPENSSL = "openssl-1:3.0.7-18.el9_2"


def _package(arch: str, name: str = "openssl") -> dict[str, Any]:
    product_id = f"{name}-1:3.0.7-18.el9_2.{arch}"
    return {
        "category": "product_version",
        "name": product_id,
        "product": {
            "name": product_id,
            "product_id": product_id,
            "product_identification_helper": {
                "purl": f"pkg:rpm/redhat/{name}@3.0.7-18.el9_2?arch={arch}&epoch=1"
            },
        },
    }


def _relation(component: str) -> dict[str, Any]:
    return {
        "category": "default_component_of",
        "full_product_name": {"name": component, "product_id": f"{PLATFORM}:{component}"},
        "product_reference": component,
        "relates_to_product_reference": PLATFORM,
    }


def _doc() -> dict[str, Any]:
    """A small RHSA: openssl for x86_64, aarch64, src, and a debuginfo package, on RHEL 9.2 EUS."""
    packages = [
        _package("x86_64"),
        _package("aarch64"),
        _package("src"),
        _package("x86_64", "openssl-debuginfo"),
    ]
    components = [p["product"]["product_id"] for p in packages]
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Red Hat Security Advisory: openssl security update",
            "aggregate_severity": {"text": "Important"},
            "references": [{"category": "self", "url": "https://access.redhat.com/errata/X"}],
            "tracking": {
                "id": "RHSA-2099:0001",
                "status": "final",
                "initial_release_date": "2099-01-02T03:04:05Z",
                "current_release_date": "2099-01-03T00:00:00Z",
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Red Hat",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "Red Hat Enterprise Linux AppStream EUS (v.9.2)",
                            "product": {
                                "name": "Red Hat Enterprise Linux AppStream EUS (v.9.2)",
                                "product_id": PLATFORM,
                                "product_identification_helper": {
                                    "cpe": "cpe:/a:redhat:rhel_eus:9.2::appstream"
                                },
                            },
                        },
                        *packages,
                    ],
                }
            ],
            "relationships": [_relation(c) for c in components],
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2099-0001",
                "product_status": {"fixed": [f"{PLATFORM}:{c}" for c in components]},
                "remediations": [
                    {
                        "category": "vendor_fix",
                        "date": "2099-01-05T00:00:00Z",
                        "product_ids": [f"{PLATFORM}:{c}" for c in components],
                    }
                ],
                "scores": [
                    {"cvss_v3": {"baseScore": 7.5, "vectorString": "CVSS:3.1/AV:N/AC:L"}},
                    {"cvss_v3": {"baseScore": 9.1, "vectorString": "CVSS:3.0/AV:N/AC:H"}},
                    {"cvss_v2": {"baseScore": 10.0, "vectorString": "AV:N/AC:L/Au:N"}},
                ],
            }
        ],
    }


def _bytes(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_small_document_reads_as_expected() -> None:
    result = csaf.parse(_bytes(_doc()))
    assert result.errors == []
    [advisory] = result.advisories
    assert (advisory.external_id, advisory.kind, advisory.severity) == (
        "RHSA-2099:0001",
        "security",
        "high",
    )
    assert (advisory.cvss_score, advisory.cvss_vector) == (9.1, "CVSS:3.0/AV:N/AC:H")
    assert advisory.aliases == ("CVE-2099-0001",)
    assert advisory.references == ("https://access.redhat.com/errata/X",)
    [row] = advisory.affected  # two arches merged, src and debuginfo left out
    assert (row.package_type, row.namespace, row.name, row.distro, row.arch) == (
        "rpm",
        "redhat",
        "openssl",
        "rhel-9.2",
        "",
    )
    assert (row.fixed_version, row.vers) == ("1:3.0.7-18.el9_2", "vers:rpm/<1:3.0.7-18.el9_2")
    assert row.fix_available_at == datetime(2099, 1, 5, tzinfo=UTC)
    assert row.product == f"{PLATFORM}:{OPENSSL}.x86_64"


def test_fix_date_falls_back_to_initial_release() -> None:
    doc = _doc()
    del doc["vulnerabilities"][0]["remediations"][0]["date"]
    [row] = csaf.parse(_bytes(doc)).advisories[0].affected
    assert row.fix_available_at == datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_remediation_by_product_group() -> None:
    doc = _doc()
    ids = doc["vulnerabilities"][0]["product_status"]["fixed"]
    doc["product_tree"]["product_groups"] = [{"group_id": "G1", "product_ids": ids}]
    remediation = doc["vulnerabilities"][0]["remediations"][0]
    del remediation["product_ids"]
    remediation["group_ids"] = ["G1"]
    [row] = csaf.parse(_bytes(doc)).advisories[0].affected
    assert row.fix_available_at == datetime(2099, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("compress"),
    [gzip.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "xz", "zstd"],
)
def test_compressed_documents(compress: Any) -> None:
    plain = csaf.parse(_bytes(_doc()))
    assert csaf.parse(compress(_bytes(_doc()))) == plain


def test_decompression_bomb_refused() -> None:
    data = gzip.compress(b" " * 2_000_000 + _bytes(_doc()))
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        csaf.parse(data, limits=FeedLimits(max_decompressed_bytes=1_000_000))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not JSON"),
        (_bytes(_doc())[:500], "truncated"),
        (b"\xff\xfe{}", "not JSON"),
        (b'{"document": "\xc3\x28"}', "not JSON"),
        (b"[1, 2, 3]", "the top level is an array"),
        (b'"a string"', "the top level is a string"),
        (b"{}", "no 'document' object"),
        (b'{"document": {"csaf_version": "2.0"}}', "document.category"),
        (b"[" * 200 + b"]" * 200, "nested deeper"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            b'"&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
            "this is XML",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<foo>&xxe;</foo>",
            "this is XML",
        ),
    ],
    ids=[
        "empty", "truncated", "utf16-bom", "invalid-utf8", "array", "string", "no-document",
        "no-category", "deep", "billion-laughs", "external-entity",
    ],
)  # fmt: skip
def test_unusable_input_refused(data: bytes, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        csaf.parse(data)
    assert message in str(caught.value)


def _refusal(doc: dict[str, Any]) -> FeedError:
    with pytest.raises(FeedError) as caught:
        csaf.parse(_bytes(doc), name="x.json")
    return caught.value


def test_document_essentials_refused() -> None:
    doc = _doc()
    doc["document"]["csaf_version"] = "2.1"
    error = _refusal(doc)
    assert "'2.1'" in error.message and error.location == "x.json, $.document.csaf_version"

    doc = _doc()
    del doc["document"]["csaf_version"]
    assert "null" in _refusal(doc).message

    doc = _doc()
    doc["document"]["tracking"]["id"] = 42
    assert _refusal(doc).location == "x.json, $.document.tracking.id"

    doc = _doc()
    doc["document"]["tracking"]["id"] = "X" * 300
    assert "300 characters" in _refusal(doc).message

    doc = _doc()
    doc["document"]["title"] = "T" * 2000
    error = _refusal_with(doc, FeedLimits(max_string=1000))
    assert error.location == "$.document.title" and "2,000 characters" in error.message

    doc = _doc()
    del doc["product_tree"]
    assert "product_tree" in _refusal(doc).message

    doc = _doc()
    doc["vulnerabilities"] = {"cve": "CVE-2099-0001"}
    assert _refusal(doc).location == "x.json, $.vulnerabilities"

    doc = _doc()
    doc["vulnerabilities"] = [copy.deepcopy(doc["vulnerabilities"][0]) for _ in range(3)]
    assert "max_records" in _refusal_with(doc, FeedLimits(max_records=2)).message


def _refusal_with(doc: dict[str, Any], limits: FeedLimits) -> FeedError:
    with pytest.raises(FeedError) as caught:
        csaf.parse(_bytes(doc), limits=limits)
    return caught.value


def test_one_bad_vulnerability_among_good_ones() -> None:
    doc = _doc()
    good = doc["vulnerabilities"][0]
    second = copy.deepcopy(good) | {"cve": "CVE-2099-0002"}
    doc["vulnerabilities"] = [good, "not an object", second, {"cve": 12}, {"cve": "CVE-X"}]
    result = csaf.parse(_bytes(doc))
    assert result.records_seen == 5
    assert [(e.location, e.message) for e in result.errors] == [
        ("$.vulnerabilities[1]", "is not an object (found a string)"),
        ("$.vulnerabilities[3].cve", "is not a string (found a number)"),
        ("$.vulnerabilities[4].cve", "'CVE-X' is not a CVE id"),
    ]
    advisory = result.advisories[0]
    assert advisory.aliases == ("CVE-2099-0001", "CVE-2099-0002")
    assert len(advisory.affected) == 1  # the same row from both good CVEs


def test_undefined_product_reference_is_a_record_error() -> None:
    doc = _doc()
    fixed = doc["vulnerabilities"][0]["product_status"]["fixed"]
    fixed.insert(1, "BaseOS-9.2.0.Z.EUS:nothing-1.0-1.el9.x86_64")
    fixed.append(7)
    result = csaf.parse(_bytes(doc))
    assert [(e.location, e.message) for e in result.errors] == [
        (
            "$.vulnerabilities[0].product_status.fixed[1]",
            "product id 'BaseOS-9.2.0.Z.EUS:nothing-1.0-1.el9.x86_64' is not defined in the "
            "product_tree",
        ),
        ("$.vulnerabilities[0].product_status.fixed[5]", "is not a string (found a number)"),
    ]
    assert [r.name for r in result.advisories[0].affected] == ["openssl"]


def test_bad_relationship_reported_once() -> None:
    doc = _doc()
    del doc["product_tree"]["relationships"][1]["product_reference"]
    result = csaf.parse(_bytes(doc))
    assert [e.location for e in result.errors] == [
        "$.product_tree.relationships[1].product_reference"
    ]
    [row] = result.advisories[0].affected
    assert row.arch == "x86_64"  # aarch64's relationship was bad


def test_relationship_cycle_is_a_record_error() -> None:
    doc = _doc()
    doc["product_tree"]["relationships"] += [
        {
            "category": "default_component_of",
            "full_product_name": {"name": "a", "product_id": "A"},
            "product_reference": "B",
            "relates_to_product_reference": PLATFORM,
        },
        {
            "category": "default_component_of",
            "full_product_name": {"name": "b", "product_id": "B"},
            "product_reference": "A",
            "relates_to_product_reference": PLATFORM,
        },
    ]
    doc["vulnerabilities"][0]["product_status"]["known_affected"] = ["A"]
    result = csaf.parse(_bytes(doc))
    [error] = result.errors
    assert error.location == "$.vulnerabilities[0].product_status.known_affected[0]"
    assert "cycle" in error.message
    assert len(result.advisories[0].affected) == 1


def test_bad_products_are_record_errors() -> None:
    doc = _doc()
    branches = doc["product_tree"]["branches"][0]["branches"]
    branches[1]["product"]["product_identification_helper"]["purl"] = "pkg:"  # x86_64
    branches[2]["product"]["product_id"] = "P" * 5000  # aarch64
    branches.append("not a branch")
    branches.append(_package("src"))  # the same product id again
    result = csaf.parse(_bytes(doc))
    base = "$.product_tree.branches[0].branches"
    assert [e.location for e in result.errors] == [
        f"{base}[1].product.product_identification_helper.purl",
        f"{base}[2].product.product_id",
        f"{base}[5]",
        f"{base}[6].product.product_id",
        "$.vulnerabilities[0].product_status.fixed[1]",
    ]
    assert "is not a purl" in result.errors[0].message
    assert "5,000 characters" in result.errors[1].message
    assert "defined twice" in result.errors[3].message
    # x86_64 (reported with its definition) is left out quietly; aarch64's component is
    # undefined; so only the source row is left, and kept.
    assert "'openssl-1:3.0.7-18.el9_2.aarch64' is not defined" in result.errors[4].message
    assert [r.arch for r in result.advisories[0].affected] == ["src"]


def test_bad_dates_are_record_errors() -> None:
    doc = _doc()
    doc["document"]["tracking"]["initial_release_date"] = "yesterday"
    doc["vulnerabilities"][0]["remediations"][0]["date"] = ["2099"]
    result = csaf.parse(_bytes(doc))
    assert [e.location for e in result.errors] == [
        "$.document.tracking.initial_release_date",
        "$.vulnerabilities[0].remediations[0].date",
    ]
    advisory = result.advisories[0]
    assert advisory.published_at is None
    assert advisory.affected[0].fix_available_at is None


def test_statuses_and_justifications() -> None:
    doc = _doc()
    ids = doc["vulnerabilities"][0]["product_status"].pop("fixed")
    doc["vulnerabilities"][0]["product_status"] = {
        "known_affected": [ids[0]],
        "known_not_affected": [ids[1]],
        "under_investigation": [ids[2]],
    }
    doc["vulnerabilities"][0]["remediations"] = [
        {"category": "workaround", "product_ids": [ids[0]]},
        {"category": "no_fix_planned", "product_ids": [ids[0]]},
    ]
    doc["vulnerabilities"][0]["flags"] = [
        {"label": "vulnerable_code_not_in_execute_path", "product_ids": [ids[1]]}
    ]
    rows = csaf.parse(_bytes(doc)).advisories[0].affected
    assert [(r.status, r.arch, r.justification, r.vers, r.fixed_version) for r in rows] == [
        ("affected", "x86_64", "no_fix_planned", "", ""),
        ("not_affected", "aarch64", "vulnerable_code_not_in_execute_path", "", ""),
        ("under_investigation", "src", "", "", ""),  # only a src row there: kept
    ]


def test_kinds() -> None:
    for external_id, category, kind in [
        ("RHBA-2099:0002", "csaf_security_advisory", "bugfix"),
        ("RHEA-2099:0003", "csaf_vex", "enhancement"),
        ("CVE-2099-0001", "csaf_vex", "vex"),
        ("ACME-1", "csaf_security_advisory", "security"),
        ("ACME-2", "csaf_base", "unspecified"),
    ]:
        doc = _doc()
        doc["document"]["tracking"]["id"] = external_id
        doc["document"]["category"] = category
        assert csaf.parse(_bytes(doc)).advisories[0].kind == kind


# --- changes.csv / deletions.csv ------------------------------------------------------------


def test_changes_csv_fixture() -> None:
    rows = csaf.parse_changes_csv(_fixture("csaf/vunnel_redhat-csaf-provider_changes.csv"))
    assert len(rows) == 5
    assert rows[0] == ("2024/rhsa-2024_0010.json", datetime(2025, 2, 18, 14, 28, 8, tzinfo=UTC))
    assert rows[-1][0] == "2024/rhsa-2024_6666.json"


def test_deletions_csv_fixture() -> None:
    rows = csaf.parse_deletions_csv(_fixture("csaf/vunnel_redhat-csaf-provider_deletions.csv"))
    assert rows == [
        ("2024/rhea-2024_5245.json", datetime(2025, 2, 7, 17, 44, 49, tzinfo=UTC)),
        ("2024/rhsa-2024_2106.json", datetime(2024, 12, 1, 21, 27, 56, tzinfo=UTC)),
    ]


def test_index_csv_forms() -> None:
    data = b'2024/a.json,2025-01-01T00:00:00Z\r\n\r\n"vex/2023/cve-2023-1.json","2025-01-02"\n'
    assert csaf.parse_changes_csv(data) == [
        ("2024/a.json", datetime(2025, 1, 1, tzinfo=UTC)),
        ("vex/2023/cve-2023-1.json", datetime(2025, 1, 2, tzinfo=UTC)),
    ]
    assert csaf.parse_deletions_csv(b"") == []
    assert csaf.parse_changes_csv(gzip.compress(data)) == csaf.parse_changes_csv(data)


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b'"a.json","2025-01-01T00:00:00Z"\n"b.json"\n', "2 fields", 2),
        (b'"a.json","2025-01-01T00:00:00Z","x"\n', "2 fields", 1),
        (b'"a.json","soon"\n', "'soon' is not a date", 1),
        (b'"../etc/passwd","2025-01-01"\n', "not a relative document path", 1),
        (b'"/abs.json","2025-01-01"\n', "not a relative document path", 1),
        (b'"https://evil/x.json","2025-01-01"\n', "not a relative document path", 1),
        (b'"a.json","2025-01-01"\n"b\xff.json","2025-01-01"\n', "not UTF-8", 2),
        (b'"a.json","2025"x,"y"\n', "not valid CSV", 1),
    ],
)
def test_index_csv_malformed_rows(data: bytes, message: str, line: int) -> None:
    with pytest.raises(FeedError) as caught:
        csaf.parse_changes_csv(data)
    assert message in caught.value.message
    assert caught.value.location == f"line {line}"


def _paths(node: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every member and element path of a decoded JSON value."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def test_wrong_types_anywhere_never_crash() -> None:
    """Each value of the small document replaced by each JSON type in turn: the parser answers
    with a result or a FeedError, never another exception."""
    base = _doc()
    outcomes: Counter[str] = Counter()
    for path in _paths(base)[1:]:
        for wrong in (None, 7, -1e300, "9" * 30, "", [], {}, True, ["x"], {"x": 1}):
            doc = copy.deepcopy(base)
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = wrong
            try:
                result = csaf.parse(_bytes(doc))
            except FeedError:
                outcomes["refused"] += 1
            else:
                outcomes["read with errors" if result.errors else "read"] += 1
    assert set(outcomes) == {"refused", "read", "read with errors"}
