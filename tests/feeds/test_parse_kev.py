"""The CISA KEV parser against shared/fixtures/kev, other formats, and broken catalogs."""

from __future__ import annotations

import copy
import gzip
import json
import lzma
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import zstandard

from evidence.feeds import kev
from evidence.feeds.model import FeedError, FeedLimits

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"

ENTRY = {
    "cveID": "CVE-2025-0108",
    "vendorProject": "Palo Alto Networks",
    "product": "PAN-OS",
    "vulnerabilityName": "PAN-OS Authentication Bypass Vulnerability",
    "dateAdded": "2025-02-18",
    "shortDescription": "An authentication bypass.",
    "requiredAction": "Apply mitigations per vendor instructions.",
    "dueDate": "2025-03-11",
    "knownRansomwareCampaignUse": "Unknown",
    "notes": "https://security.paloaltonetworks.com/CVE-2025-0108",
    "cwes": ["CWE-306"],
}


def fixture(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.is_file():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return path.read_bytes()


def catalog(*entries: Any, **fields: Any) -> bytes:
    document: dict[str, Any] = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2025.02.19",
        "dateReleased": "2025-02-19T14:08:44.5021Z",
        "count": len(entries),
        "vulnerabilities": list(entries),
    }
    document.update(fields)
    return json.dumps(document).encode()


def entry(**fields: Any) -> dict[str, Any]:
    value = copy.deepcopy(ENTRY)
    value.update(fields)
    return value


# --- fixtures ---------------------------------------------------------------------------------


def test_catalog_fixture() -> None:
    result = kev.parse(fixture("kev/vunnel_kev_valid-catalog-1.json"))
    assert [e.cve_id for e in result.kev] == ["CVE-2025-0108", "CVE-2024-53704", "CVE-2024-57727"]
    assert result.records_seen == 3
    assert result.note == "catalogVersion 2025.02.19 released 2025-02-19T14:08:44.5021Z"
    # the copy is truncated: the catalog says 1273 entries
    assert [(e.location, "1,273" in e.message) for e in result.errors] == [("count", True)]
    first = result.kev[0]
    assert first.vendor == "Palo Alto Networks" and first.product == "PAN-OS"
    assert first.name == "Palo Alto Networks PAN-OS Authentication Bypass Vulnerability"
    assert first.date_added == date(2025, 2, 18)
    assert first.due_date == date(2025, 3, 11)
    assert first.ransomware == "Unknown"
    assert first.notes.startswith("https://security.paloaltonetworks.com/CVE-2025-0108 ;")
    assert first.description.startswith("Palo Alto Networks PAN-OS contains")
    assert first.required_action.startswith("Apply mitigations")
    assert result.kev[2].vendor == "SimpleHelp"  # "SimpleHelp " in the catalog
    assert result.kev[2].due_date == date(2025, 3, 6)


def test_single_entry_fixture() -> None:
    result = kev.parse(fixture("kev/vunnel_kev_single-entry.json"))
    assert [e.cve_id for e in result.kev] == ["CVE-2025-0108"]
    assert result.errors == [] and result.records_seen == 1
    assert "single KEV entry" in result.note


def _documents(folder: str, pattern: str = "*.json") -> list[str]:
    path = FIXTURES / folder
    return sorted(f"{folder}/{p.name}" for p in path.glob(pattern)) if path.is_dir() else []


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        (f, "this is an NVD CVE API 2.0 document, not the CISA KEV catalog")
        for f in _documents("nvd")
    ]
    + [(f, "this is a CVE JSON 5 record, not the CISA KEV catalog") for f in _documents("cve5")]
    + [(f, "this is a Debian security tracker") for f in _documents("debian")]
    + [("debian/vunnel_debian-DSA-list.txt", "this is a Debian DSA/DLA list")]
    + [(f, "this is a CSAF document") for f in _documents("csaf", "*rhsa*.json")]
    + [(f, "this is an OSV record, not the CISA KEV catalog") for f in _documents("osv")],
)
def test_other_formats_refused(relative: str, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        kev.parse(fixture(relative))
    assert expected in caught.value.message


# --- bad entries ------------------------------------------------------------------------------


def test_bad_entries_among_good_ones() -> None:
    data = catalog(
        entry(),
        entry(cveID="CVE-25-1"),
        entry(cveID="CVE-2025-0002", dateAdded="18/02/2025"),
        entry(cveID="CVE-2025-0003", dueDate="2025-13-01"),
        entry(cveID="CVE-2025-0004", dateAdded="20250218"),
        entry(cveID="CVE-2025-0005", dateAdded=None),
        "not an entry",
        entry(cveID="CVE-2025-0006", product=["list"]),
        entry(cveID="CVE-2025-0108", product="again"),
        entry(cveID=" CVE-2025-0007 ", dueDate=""),
    )
    result = kev.parse(data)
    assert [e.cve_id for e in result.kev] == ["CVE-2025-0108", "CVE-2025-0007"]
    assert result.kev[1].due_date is None
    assert result.records_seen == 10
    assert [e.location for e in result.errors] == [
        "vulnerabilities[1] (CVE-25-1)",
        "vulnerabilities[2] (CVE-2025-0002)",
        "vulnerabilities[3] (CVE-2025-0003)",
        "vulnerabilities[4] (CVE-2025-0004)",
        "vulnerabilities[5] (CVE-2025-0005)",
        "vulnerabilities[6]",
        "vulnerabilities[7] (CVE-2025-0006)",
        "vulnerabilities[8] (CVE-2025-0108)",
    ]
    messages = [e.message for e in result.errors]
    assert "not a CVE id" in messages[0]
    assert "YYYY-MM-DD" in messages[1] and "not a valid date" in messages[2]
    assert "first at vulnerabilities[0]" in messages[7]


def test_count_must_match_or_be_a_number() -> None:
    assert kev.parse(catalog(entry())).errors == []
    result = kev.parse(catalog(entry(), count="one"))
    assert [e.location for e in result.errors] == ["count"] and len(result.kev) == 1


def test_long_strings_are_cut() -> None:
    result = kev.parse(catalog(entry(notes="n" * 5000)), limits=FeedLimits(max_string=100))
    assert len(result.kev[0].notes) == 100


# --- unusable documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not JSON"),
        (catalog(entry())[:-20], "truncated"),
        (b'{"catalogVersion": "1", "vulnerabilities": [{"cveID": "CVE-2025-\xff"}]}', "not JSON"),
        (b"[1, 2, 3]", "this is a JSON array, not the CISA KEV catalog"),
        (b'{"hello": "world"}', "not a CISA KEV catalog"),
        (b'{"catalogVersion": "1", "vulnerabilities": {"a": 1}}', '"vulnerabilities" must be'),
        (b'{"catalogVersion": "1", "vulnerabilities": ' + b"[" * 200 + b"]" * 200 + b"}", "nested"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "not JSON"),
    ],
)
def test_unusable_documents(data: bytes, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        kev.parse(data)
    assert expected in str(caught.value)


def test_too_many_entries() -> None:
    with pytest.raises(FeedError, match="max_records"):
        kev.parse(catalog(entry(), entry()), limits=FeedLimits(max_records=1))


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "xz", "zstd"],
)
def test_compressed_catalogs(compress: Any) -> None:
    result = kev.parse(compress(catalog(entry())))
    assert [e.cve_id for e in result.kev] == ["CVE-2025-0108"]


def test_gzip_bomb_refused() -> None:
    bomb = gzip.compress(b" " * 300_000)
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        kev.parse(bomb, limits=FeedLimits(max_decompressed_bytes=100_000))
