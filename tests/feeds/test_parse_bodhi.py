"""evidence.feeds.bodhi: the shared fixtures (exact counts, pinned fields), the three document
shapes and paging, documents of other sources and hostile input written here."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest
from univers.version_range import VersionRange

from evidence.feeds import bodhi
from evidence.feeds.bodhi import release_distro, split_nvr
from evidence.feeds.model import FeedError, FeedLimits, FeedParse
from tests.feeds.helpers import fixture, fixtures_in, utc


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


UPDATE: dict[str, Any] = {
    "alias": "FEDORA-2024-0000000001",
    "title": "nano-7.2-3.fc40",
    "notes": "fixes CVE-2024-9999",
    "type": "security",
    "status": "stable",
    "severity": "high",
    "date_submitted": "2024-01-10 10:00:00",
    "date_modified": None,
    "date_testing": "2024-01-11 10:00:00",
    "date_stable": "2024-01-15 12:00:00",
    "date_pushed": "2024-01-15 12:00:00",
    "url": "https://bodhi.fedoraproject.org/updates/FEDORA-2024-0000000001",
    "release": {"name": "F40", "version": "40", "id_prefix": "FEDORA"},
    "bugs": [{"bug_id": 1, "security": True, "title": "CVE-2024-0001 nano: overflow"}],
    "builds": [{"nvr": "nano-7.2-3.fc40", "type": "rpm", "epoch": 0}],
}


def make(number: int = 1, **changes: Any) -> dict[str, Any]:
    update = copy.deepcopy(UPDATE)
    update["alias"] = f"FEDORA-2024-{number:010}"
    update.update(changes)
    return update


def assert_valid_vers(result: FeedParse) -> None:
    for advisory in result.advisories:
        for row in advisory.affected:
            assert str(VersionRange.from_string(row.vers)) == row.vers


# The shared fixtures: one update each.

FIXTURE_EXPECTATIONS = {
    "vunnel_FEDORA-2014-15583.json": {
        "id": "FEDORA-2014-15583",
        "severity": "",
        "aliases": ("CVE-2012-6662", "CVE-2014-9015", "CVE-2014-9016"),
        "published": utc(2014, 11, 20, 13, 40, 29),
        "modified": utc(2014, 11, 22, 16, 15, 51),
        "stable": utc(2014, 12, 6, 10, 5, 3),
        "milestones": {"submitted", "stable"},
        "rows": [("drupal7", "fedora-21", "7.34-1.fc21", "F21")],
    },
    "vunnel_FEDORA-2023-6d4055d482.json": {
        "id": "FEDORA-2023-6d4055d482",
        "severity": "medium",
        "aliases": ("CVE-2006-20001", "CVE-2022-36760", "CVE-2022-37436"),
        "published": utc(2023, 1, 25, 20, 12, 3),
        "modified": utc(2023, 2, 3, 1, 39, 2),  # date_modified null: the latest date
        "stable": utc(2023, 2, 3, 1, 39, 2),
        "milestones": {"submitted", "stable"},
        "rows": [("httpd", "fedora-36", "2.4.55-1.fc36", "F36")],
    },
    "vunnel_FEDORA-2023-f6ff3f85eb.json": {
        "id": "FEDORA-2023-f6ff3f85eb",
        "severity": "medium",
        "aliases": ("CVE-2006-20001", "CVE-2022-36760", "CVE-2022-37436"),
        "published": utc(2023, 1, 25, 20, 12, 2),
        "modified": utc(2023, 1, 28, 1, 24, 53),
        "stable": utc(2023, 1, 28, 1, 24, 53),
        "milestones": {"submitted", "stable"},
        "rows": [("httpd", "fedora-37", "2.4.55-1.fc37", "F37")],
    },
    "vunnel_FEDORA-EPEL-2017-a8886eb42e.json": {
        "id": "FEDORA-EPEL-2017-a8886eb42e",
        "severity": "low",
        "aliases": ("CVE-2014-8501", "CVE-2014-8502", "CVE-2014-8503", "CVE-2014-8504"),
        "published": utc(2017, 5, 18, 15, 31, 15),
        "modified": utc(2017, 7, 14, 9, 50, 29),
        "stable": utc(2017, 8, 18, 13, 16, 11),
        "milestones": {"submitted", "stable"},
        "rows": [
            ("cross-binutils", "epel-7", "2.27-9.el7.1", "EPEL-7"),
            ("cross-gcc", "epel-7", "4.8.5-16.el7.1", "EPEL-7"),
        ],
    },
    "vunnel_synthetic_FEDORA-2025-aaa1111111.json": {
        "id": "FEDORA-2025-aaa1111111",
        "severity": "medium",
        "aliases": ("CVE-2025-1234",),
        "published": utc(2025, 1, 10, 10),
        "modified": utc(2025, 1, 15, 12),
        "stable": utc(2025, 1, 15, 12),
        "milestones": {"submitted", "testing", "stable"},
        "rows": [("python3-docs", "fedora-40", "3.12.9-1.fc40", "F40")],
    },
}


@pytest.mark.parametrize("file_name", sorted(FIXTURE_EXPECTATIONS))
def test_fixture(file_name):
    expected = FIXTURE_EXPECTATIONS[file_name]
    data = fixture(f"fedora-bodhi/{file_name}")
    result = bodhi.parse(data, name=file_name)
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (1, 1, 0)
    assert bodhi.pages(data) == (1, 1)
    [advisory] = result.advisories
    assert advisory.source == "bodhi"
    assert advisory.external_id == expected["id"]
    assert advisory.kind == "security"
    assert advisory.severity == expected["severity"]
    assert advisory.aliases == expected["aliases"]
    assert advisory.published_at == expected["published"]
    assert advisory.modified_at == expected["modified"]
    assert set(advisory.milestones) == expected["milestones"]
    assert advisory.milestones["stable"] == expected["stable"]
    assert advisory.references == (f"https://bodhi.fedoraproject.org/updates/{expected['id']}",)
    rows = [(r.name, r.distro, r.fixed_version, r.product) for r in advisory.affected]
    assert rows == expected["rows"]
    for row in advisory.affected:
        assert (row.package_type, row.status) == ("rpm", "affected")
        assert row.vers == f"vers:rpm/<{row.fixed_version}"
        assert row.fix_available_at == expected["stable"]
    assert_valid_vers(result)


def test_fixture_text_fields():
    data = fixture("fedora-bodhi/vunnel_synthetic_FEDORA-2025-aaa1111111.json")
    [advisory] = bodhi.parse(data).advisories
    assert advisory.title == "python3-docs-3.12.9-1.fc40"
    assert advisory.description == "Update to 3.12.9 to fix CVE-2025-1234"
    assert advisory.milestones["testing"] == utc(2025, 1, 11, 3)


def test_all_fixtures_in_one_page_and_wrapped():
    updates = [json.loads(p.read_bytes()) for p in fixtures_in("fedora-bodhi")]
    page = {"updates": updates, "page": 2, "pages": 3, "rows_per_page": 5, "total": 13}
    result = bodhi.parse(encode(page))
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (5, 5, 0)
    assert sum(len(a.affected) for a in result.advisories) == 6
    assert result.note == "page 2 of 3, 13 updates in all"
    assert bodhi.pages(encode(page)) == (2, 3)
    wrapped = bodhi.parse(encode({"update": updates[0], "can_edit": False}))
    assert wrapped.advisories == bodhi.parse(encode(updates[0])).advisories
    assert wrapped.note == ""


def test_empty_last_page():
    data = encode({"updates": [], "page": 1, "pages": 0, "total": 0})
    result = bodhi.parse(data)
    assert (result.records_seen, result.advisories, result.errors) == (0, [], [])
    assert bodhi.pages(data) == (1, 0)


# Documents of other sources and random documents.


@pytest.mark.parametrize(
    "directory", ["updateinfo", "oval", "debian", "nvd", "cve5", "csaf", "osv", "kev", "epss"]
)
def test_other_sources_fixtures_are_refused(directory):
    for path in fixtures_in(directory):
        with pytest.raises(FeedError, match=r"not Bodhi update JSON|not JSON"):
            bodhi.parse(path.read_bytes(), name=path.name)


def test_xml_is_refused():
    data = fixture("updateinfo/createrepo_c_updateinfo_01.xml")
    with pytest.raises(FeedError) as caught:
        bodhi.parse(data, name="updateinfo.xml")
    assert str(caught.value) == (
        "updateinfo.xml: not Bodhi update JSON: the document is XML, expected a JSON object"
    )


@pytest.mark.parametrize(
    ("value", "message", "location"),
    [
        ([UPDATE], "the top level is an array, expected an object", ""),
        ("FEDORA-2024-1", "the top level is a string, expected an object", ""),
        (42, "the top level is a number, expected an object", ""),
        ({"hello": "world"}, "expected an object with 'updates', 'update'", "$"),
        ({"alias": "X"}, "expected an object with 'updates', 'update'", "$"),
        ({"updates": {"a": 1}}, "'updates' is an object, expected an array", "$.updates"),
        ({"update": [UPDATE]}, "'update' is an array, expected an object", "$.update"),
        ({"updates": [], "page": "2"}, "'page' is '2', expected a whole number", "$.page"),
        ({"updates": [], "page": 0}, "'page' is '0', expected a whole number >= 1", "$.page"),
        ({"updates": [], "pages": True}, "'pages' is 'True'", "$.pages"),
    ],
)
def test_wrong_shapes_are_refused(value, message, location):
    with pytest.raises(FeedError, match="not Bodhi update JSON") as caught:
        bodhi.parse(encode(value))
    assert message in caught.value.message
    assert caught.value.location == location
    with pytest.raises(FeedError):
        bodhi.pages(encode(value))


# Hostile and broken documents.


def test_empty_and_truncated_documents_are_refused():
    for data in (b"", b" \n "):
        with pytest.raises(FeedError, match="the document is empty"):
            bodhi.parse(data)
    with pytest.raises(FeedError, match="truncated") as caught:
        bodhi.parse(encode(UPDATE)[:-20])
    assert caught.value.location.startswith("line 1, column")


def test_invalid_utf8_is_refused():
    data = encode(UPDATE).replace(b"fixes", b"fixes \xff\xfe")
    with pytest.raises(FeedError, match="not JSON"):
        bodhi.parse(data)


def test_deep_nesting_is_refused():
    data = b'{"updates": ' + b"[" * 100 + b"]" * 100 + b"}"
    with pytest.raises(FeedError, match="nested deeper"):
        bodhi.parse(data)


def test_gzip_is_read_and_a_bomb_refused():
    data = encode({"updates": [make(1), make(2)], "page": 1, "pages": 1})
    assert bodhi.parse(gzip.compress(data)) == bodhi.parse(data)
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        bodhi.parse(
            gzip.compress(data + b" " * 50_000), limits=FeedLimits(max_decompressed_bytes=1000)
        )


def test_too_many_records_is_refused():
    data = encode({"updates": [make(n) for n in range(3)]})
    with pytest.raises(FeedError, match="max_records"):
        bodhi.parse(data, limits=FeedLimits(max_records=2))


def test_bad_updates_among_good_ones():
    updates: list[Any] = [
        make(1),
        "FEDORA-2024-0000000002",
        make(3, alias=None),
        make(4, builds={"nvr": "nano-7.2-3.fc40"}),
        make(5, builds=[{"nvr": "nano"}]),
        make(6, builds=[{"nvr": "nano-7.2-3.fc40", "epoch": "one"}]),
        make(7, builds=[{"nvr": ["nano-7.2-3.fc40"]}]),
        make(8, notes="x" * 500),
        make(9, cves=[12345]),
        make(10, release="F40"),
        make(11, title={"a": 1}),
        make(12),
    ]
    result = bodhi.parse(encode({"updates": updates}), limits=FeedLimits(max_string=200))
    assert result.records_seen == 12
    assert [a.external_id for a in result.advisories] == [
        "FEDORA-2024-0000000001",
        "FEDORA-2024-0000000012",
    ]
    assert [(e.location, e.message) for e in result.errors] == [
        ("$.updates[1]", "the update is a string, expected an object"),
        ("$.updates[2]", "the update has no usable 'alias' ('')"),
        ("$.updates[3] (FEDORA-2024-0000000004)", "'builds' is an object, expected an array"),
        (
            "$.updates[4] (FEDORA-2024-0000000005)",
            "the build 'nano' is not name-version-release",
        ),
        ("$.updates[5] (FEDORA-2024-0000000006)", "the epoch 'one' is not a number"),
        (
            "$.updates[6] (FEDORA-2024-0000000007)",
            "'builds[0].nvr' is an array, expected a string",
        ),
        (
            "$.updates[7] (FEDORA-2024-0000000008)",
            "'notes' is 500 characters; the limit is 200 (max_string)",
        ),
        ("$.updates[8] (FEDORA-2024-0000000009)", "'cves[0]' is a number, expected a CVE id"),
        ("$.updates[9] (FEDORA-2024-0000000010)", "'release' is a string, expected an object"),
        ("$.updates[10] (FEDORA-2024-0000000011)", "'title' is an object, expected a string"),
    ]


def test_malformed_date_keeps_the_update():
    result = bodhi.parse(encode(make(1, date_stable="15mangled2", date_modified=[1])))
    [advisory] = result.advisories
    assert "stable" not in advisory.milestones
    assert advisory.affected[0].fix_available_at is None
    assert advisory.modified_at == utc(2024, 1, 15, 12)  # the latest readable date
    assert [e.message for e in result.errors] == [
        "'date_stable' '15mangled2' is not a date; the update is kept without it",
        "'date_modified' '[1]' is not a date; the update is kept without it",
    ]
    assert {e.location for e in result.errors} == {"$ (FEDORA-2024-0000000001)"}


def test_builds_epoch_names_and_types():
    builds = [
        {"nvr": "python-requests-toolbelt-1.0.0-1.fc40", "type": "rpm", "epoch": None},
        {"nvr": "perl-DBI-1.643-1.fc40", "epoch": 2},
        {"nvr": "bind-9.18.20-1.fc40", "type": "rpm", "epoch": "32"},
        {"nvr": "nodejs-20-4020240101.abc", "type": "module", "epoch": 0},
        {"nvr": "firefox-flatpak-1-1", "type": "flatpak"},
    ]
    [advisory] = bodhi.parse(encode(make(1, builds=builds))).advisories
    assert [(r.name, r.fixed_version, r.vers) for r in advisory.affected] == [
        ("python-requests-toolbelt", "1.0.0-1.fc40", "vers:rpm/<1.0.0-1.fc40"),
        ("perl-DBI", "2:1.643-1.fc40", "vers:rpm/<2:1.643-1.fc40"),
        ("bind", "32:9.18.20-1.fc40", "vers:rpm/<32:9.18.20-1.fc40"),
    ]


def test_status_dates_and_milestones():
    testing = make(1, status="testing", date_stable=None, date_pushed="2024-01-11 10:00:00")
    [advisory] = bodhi.parse(encode(testing)).advisories
    assert set(advisory.milestones) == {"submitted", "testing"}
    assert advisory.affected[0].fix_available_at is None
    old = make(2, date_stable=None, date_testing=None, date_pushed="2014-12-06 10:05:03")
    [advisory] = bodhi.parse(encode(old)).advisories
    assert advisory.affected[0].fix_available_at == utc(2014, 12, 6, 10, 5, 3)
    assert set(advisory.milestones) == {"submitted"}
    edited = make(3, date_modified="2024-01-12 00:00:00")
    [advisory] = bodhi.parse(encode(edited)).advisories
    assert advisory.modified_at == utc(2024, 1, 12)


def test_kinds_severities_and_aliases():
    update = make(
        1,
        type="newpackage",
        severity="urgent",
        cves=["CVE-2024-0002", {"cve_id": "cve-2024-0003"}],
        bugs=[{"title": None}, {"title": "CVE-2024-0001 again"}, "CVE-2024-0004 as text"],
        url="javascript:alert(1)",
    )
    [advisory] = bodhi.parse(encode(update)).advisories
    assert (advisory.kind, advisory.severity) == ("newpackage", "critical")
    assert advisory.aliases == ("CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003", "CVE-2024-0004")
    assert advisory.references == ()
    [advisory] = bodhi.parse(encode(make(2, type="rollback", severity="unspecified"))).advisories
    assert (advisory.kind, advisory.severity) == ("unspecified", "")


@pytest.mark.parametrize(
    ("release", "distro"),
    [
        ({"name": "F38", "version": "38", "id_prefix": "FEDORA"}, "fedora-38"),
        ({"name": "EPEL-7", "version": "7", "id_prefix": "FEDORA-EPEL"}, "epel-7"),
        ({"name": "EPEL-9", "version": "9", "id_prefix": "FEDORA-EPEL"}, "epel-9"),
        ({"name": "EPEL-10.0", "version": "10.0", "id_prefix": "FEDORA-EPEL"}, "epel-10.0"),
        ({"name": "EPEL-9N", "version": "9", "id_prefix": "FEDORA-EPEL-NEXT"}, ""),
        ({"name": "F40C", "version": "40", "id_prefix": "FEDORA-CONTAINER"}, ""),
        ({"name": "ELN", "version": "eln", "id_prefix": "FEDORA"}, ""),
        ({"version": "41", "id_prefix": "FEDORA"}, "fedora-41"),
        ({"version": 8, "id_prefix": "FEDORA-EPEL"}, "epel-8"),
        ({"version": True, "id_prefix": "FEDORA"}, ""),
        ({}, ""),
    ],
)
def test_release_distro(release, distro):
    assert (
        release_distro(release.get("name", ""), release.get("id_prefix"), release.get("version"))
        == distro
    )
    [advisory] = bodhi.parse(encode(make(1, release=release))).advisories
    assert advisory.affected[0].distro == distro
    assert advisory.affected[0].product == release.get("name", "")


def test_split_nvr():
    assert split_nvr("cross-binutils-2.27-9.el7.1") == ("cross-binutils", "2.27", "9.el7.1")
    for bad in ("httpd", "httpd-2.4", "-1-1", "a--1", "a b-1-1"):
        with pytest.raises(ValueError):
            split_nvr(bad)
