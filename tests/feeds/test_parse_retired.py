"""The retired-packages parser: the shipped Fedora Deepin list, the format's validation, other
formats and broken documents."""

from __future__ import annotations

import gzip
import json
import lzma
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import zstandard

from evidence.feeds import retired
from evidence.feeds.model import FeedError, FeedLimits

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
SHIPPED = Path(retired.__file__).resolve().parent / "data" / "fedora-deepin-retired.json"


def fixture(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.is_file():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return path.read_bytes()


def document(**fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "format": "patchproof-retired",
        "version": 1,
        "distribution": "fedora",
        "retired_at": "2026-05-19",
        "reason": "No longer maintained.",
        "reference_url": "https://example.org/decision",
        "packages": ["alpha", "beta"],
    }
    value.update(fields)
    return value


def parse(value: dict[str, Any]) -> Any:
    return retired.parse(json.dumps(value).encode())


# --- the shipped list -------------------------------------------------------------------------


def test_shipped_fedora_deepin_list() -> None:
    result = retired.parse(SHIPPED.read_bytes(), name=SHIPPED.name)
    assert result.errors == []
    assert result.records_seen == len(result.retired) == 41
    names = [row.name for row in result.retired]
    assert names == sorted(set(names))
    assert {"deepin-daemon", "deepin-dock", "deepin-file-manager", "dtkcore", "startdde"} <= set(
        names
    )
    assert not [n for n in names if n.startswith("dde-")]  # Fedora spells them deepin-*
    row = result.retired[0]
    assert (row.distro, row.retired_at, row.package_type) == ("fedora", date(2026, 5, 19), "rpm")
    assert row.reference_url == "https://pagure.io/fesco/issue/3409"
    assert "deepinde-sig" in row.reason and "FESCo" in row.reason
    assert result.note == "fedora: 41 package(s) retired 2026-05-19 (every release)"


def test_shipped_names_not_in_fedora_40_sample() -> None:
    sample = FIXTURES / "fedora-pkglist" / "fedora40_monogon-sandboxroot_nevra.tsv"
    if not sample.is_file():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    listed = {line.split("\t")[0] for line in sample.read_text().splitlines()}
    shipped = set(json.loads(SHIPPED.read_text())["packages"])
    assert listed & shipped == set()
    assert not [n for n in listed if re.match(r"(deepin|dde|dtk)", n)]


# --- the format -------------------------------------------------------------------------------


def test_releases_and_overrides() -> None:
    value = document(
        releases=["fedora-41", "fedora-42"],
        packages=[
            "alpha",
            {
                "name": "beta",
                "retired_at": "2026-06-01",
                "reason": "Replaced by gamma.",
                "reference_url": "https://example.org/beta",
                "comment": "ignored",
            },
        ],
        comment="free text",
    )
    result = parse(value)
    assert [(r.distro, r.name, r.retired_at) for r in result.retired] == [
        ("fedora-41", "alpha", date(2026, 5, 19)),
        ("fedora-42", "alpha", date(2026, 5, 19)),
        ("fedora-41", "beta", date(2026, 6, 1)),
        ("fedora-42", "beta", date(2026, 6, 1)),
    ]
    assert result.retired[0].reason == "No longer maintained."
    assert result.retired[2].reason == "Replaced by gamma."
    assert result.retired[2].reference_url == "https://example.org/beta"
    assert result.records_seen == 2
    assert result.note.endswith("(fedora-41, fedora-42)")


def test_end_of_life_lists_name_releases_and_their_marker_packages() -> None:
    value = document(kind="end-of-life", releases=["fedora-38"], packages=["fedora-release-common"])
    result = parse(value)
    [row] = result.retired
    assert (row.kind, row.distro, row.name) == ("end-of-life", "fedora-38", "fedora-release-common")
    assert result.note == "fedora-38: end of life 2026-05-19 (1 release marker package(s))"
    assert {r.kind for r in parse(document()).retired} == {"retired"}


SHIPPED_EOL = SHIPPED.parent / "end-of-life"


@pytest.mark.parametrize(
    ("file", "release", "markers", "ended"),
    [
        ("fedora-40.json", "fedora-40", {"fedora-release-common"}, date(2025, 5, 13)),
        ("fedora-42.json", "fedora-42", {"fedora-release-common"}, date(2026, 5, 28)),
        ("centos-7.json", "centos-7", {"centos-release"}, date(2024, 6, 30)),
        ("mariner-2.0.json", "mariner-2.0", {"mariner-release"}, date(2025, 7, 31)),
        ("debian-10.json", "debian-10", {"base-files"}, date(2024, 6, 30)),
    ],
)
def test_shipped_end_of_life_lists(file: str, release: str, markers: set[str], ended: date) -> None:
    result = retired.parse((SHIPPED_EOL / file).read_bytes(), name=file)
    assert result.errors == []
    assert {(r.kind, r.distro, r.retired_at) for r in result.retired} == {
        ("end-of-life", release, ended)
    }
    assert {r.name for r in result.retired} == markers


def test_every_shipped_end_of_life_list_reads_cleanly() -> None:
    files = sorted(SHIPPED_EOL.glob("*.json"))
    assert len(files) >= 10
    for path in files:
        result = retired.parse(path.read_bytes(), name=path.name)
        assert result.errors == [], path.name
        assert {r.kind for r in result.retired} == {"end-of-life"}, path.name
        assert path.stem in {r.distro for r in result.retired}, path.name  # named for its release


def test_deb_names() -> None:
    result = parse(document(distribution="debian", package_type="deb", packages=["libfoo2", "Foo"]))
    assert [(r.name, r.package_type) for r in result.retired] == [("libfoo2", "deb")]
    assert result.errors[0].location == "packages[1] (Foo)"


def test_bad_packages_among_good_ones() -> None:
    value = document(
        packages=[
            "alpha",
            "two words",
            "../etc/passwd",
            "alpha",
            {"name": "gamma", "retired_at": "2026-02-30"},
            {"name": "delta", "reference_url": "ftp://example.org/x"},
            {"name": "epsilon", "retired_on": "2026-01-01"},
            {"name": "zeta", "reason": " "},
            42,
            {"retired_at": "2026-01-01"},
            "libstdc++",
            "x" * 300,
        ]
    )
    result = parse(value)
    assert [r.name for r in result.retired] == ["alpha", "libstdc++"]
    assert result.records_seen == 12
    assert [e.location for e in result.errors] == [
        "packages[1] (two words)",
        "packages[2] (../etc/passwd)",
        "packages[3] (alpha)",
        "packages[4] (gamma)",
        "packages[5] (delta)",
        "packages[6] (epsilon)",
        "packages[7] (zeta)",
        "packages[8]",
        "packages[9]",
        f"packages[11] ({'x' * 80})",
    ]
    messages = [e.message for e in result.errors]
    assert "not a valid rpm package name" in messages[0]
    assert "listed twice (first at packages[0])" in messages[2]
    assert "not a valid date" in messages[3]
    assert "http(s) URL" in messages[4]
    assert "unknown field(s) retired_on" in messages[5]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"format": "something-else"}, "not a patchproof-retired list"),
        ({"format": None}, "not a patchproof-retired list"),
        ({"version": 2}, "unsupported patchproof-retired version 2"),
        ({"version": True}, "unsupported"),
        ({"reason": None}, '"reason" must be a non-empty string'),
        ({"retired_at": "19.05.2026"}, '"retired_at" must be a YYYY-MM-DD date'),
        ({"retired_at": "2026-02-30"}, "not a valid date"),
        ({"distribution": "Fedora Linux"}, '"distribution" must be an os-release ID'),
        ({"releases": ["41"]}, '"releases" entries must look like "fedora-41"'),
        ({"releases": []}, "non-empty array"),
        ({"releases": ["fedora-41", "fedora-41"]}, "lists fedora-41 twice"),
        ({"package_type": "apk"}, '"package_type" must be one of rpm, deb'),
        ({"reference_url": "javascript:alert(1)"}, "http(s) URL"),
        ({"reference_url": "https://exa mple.org"}, "http(s) URL"),
        ({"packages": "alpha"}, '"packages" must be an array'),
        ({"extra": 1}, "unknown field(s) extra"),
        ({"kind": "obsolete"}, '"kind" must be one of retired, end-of-life'),
        ({"kind": "end-of-life"}, 'an end-of-life list must name its "releases"'),
    ],
)
def test_document_level_problems(changes: dict[str, Any], expected: str) -> None:
    value = document()
    value.update(changes)
    if changes.get("format", "") is None:
        del value["format"]
    with pytest.raises(FeedError) as caught:
        parse(value)
    assert expected in str(caught.value)


def test_missing_required_fields() -> None:
    value = document()
    del value["reference_url"], value["packages"]
    with pytest.raises(FeedError, match="missing required field"):
        parse(value)


def test_too_many_packages() -> None:
    with pytest.raises(FeedError, match="max_records"):
        retired.parse(json.dumps(document()).encode(), limits=FeedLimits(max_records=1))


# --- other formats and broken documents -------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("nvd/vunnel_nvd-api2.0_single-entry.json", "this is an NVD CVE API 2.0 document"),
        ("cve5/osvdev_CVE-2024-3094.cve5.json", "this is a CVE JSON 5 record"),
        ("debian/vunnel_debian-security-tracker.json", "this is a Debian security tracker"),
        ("debian/vunnel_debian-DSA-list.txt", "this is a Debian DSA/DLA list"),
        ("kev/vunnel_kev_valid-catalog-1.json", "this is the CISA KEV catalog"),
        ("osv/vunnel_rocky_RLSA-2024-3671.json", "this is an OSV record"),
        ("csaf/oasis-csaf20_rhsa-2021_5186.json", "this is a CSAF document"),
    ],
)
def test_other_formats_refused(relative: str, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        retired.parse(fixture(relative))
    assert expected in caught.value.message
    assert "not a patchproof-retired list" in caught.value.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not JSON"),
        (json.dumps(document()).encode()[:-15], "truncated"),
        (b'{"format": "patchproof-retired", "reason": "\xff"}', "not JSON"),
        (b'["alpha"]', "this is a JSON array"),
        (b"[" * 500 + b"]" * 500, "nested"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x/>',
            "not JSON",
        ),
    ],
)
def test_unusable_documents(data: bytes, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        retired.parse(data)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "xz", "zstd"],
)
def test_compressed_lists(compress: Any) -> None:
    result = retired.parse(compress(json.dumps(document()).encode()))
    assert [r.name for r in result.retired] == ["alpha", "beta"]
