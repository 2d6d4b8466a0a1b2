"""evidence.feeds.oval: the shared fixtures (exact counts, pinned fields), Oracle ELSA OVAL
refused, documents of other sources and hostile input written here."""

from __future__ import annotations

import gzip
import lzma

import pytest
import zstandard
from univers.version_range import VersionRange

from evidence.feeds import oval
from evidence.feeds.model import FeedError, FeedLimits, FeedParse
from tests.feeds.helpers import by_id, fixture, fixtures_in, utc

PREFIX = "oval:com.microsoft.azurelinux"


def assert_valid_vers(result: FeedParse) -> None:
    for advisory in result.advisories:
        for row in advisory.affected:
            if row.vers:
                assert str(VersionRange.from_string(row.vers)) == row.vers


# Small documents written here.


def definition(
    number: int,
    criteria: str = "",
    *,
    cls: str = "vulnerability",
    patchable: str = "true",
    metadata: str = "",
) -> str:
    criteria = criteria or f'<criterion test_ref="{PREFIX}:tst:{number}"/>'
    return (
        f'<definition class="{cls}" id="{PREFIX}:def:{number}" version="1"><metadata>'
        f"<title>CVE-2024-{number:04} affecting package p{number}</title>"
        '<affected family="unix"><platform>Azure Linux</platform></affected>'
        f'<reference ref_id="CVE-2024-{number:04}" ref_url="https://nvd.nist.gov/x/{number}"'
        ' source="CVE"/>'
        f"<patchable>{patchable}</patchable>{metadata}"
        "<severity>High</severity><description>d</description></metadata>"
        f'<criteria operator="AND">{criteria}</criteria></definition>'
    )


def rpm_test(number: int, name: str, evr: str = "0:1.0-1.azl3", op: str = "less than") -> str:
    """A test, object and state (returned joined with '|' so the caller can place them)."""
    test = (
        f'<linux-def:rpminfo_test id="{PREFIX}:tst:{number}" check="at least one">'
        f'<linux-def:object object_ref="{PREFIX}:obj:{number}"/>'
        f'<linux-def:state state_ref="{PREFIX}:ste:{number}"/></linux-def:rpminfo_test>'
    )
    obj = (
        f'<linux-def:rpminfo_object id="{PREFIX}:obj:{number}">'
        f"<linux-def:name>{name}</linux-def:name></linux-def:rpminfo_object>"
    )
    state = (
        f'<linux-def:rpminfo_state id="{PREFIX}:ste:{number}">'
        f'<linux-def:evr datatype="evr_string" operation="{op}">{evr}</linux-def:evr>'
        "</linux-def:rpminfo_state>"
    )
    return f"{test}|{obj}|{state}"


def document(
    definitions: list[str],
    tests: list[str],
    generator: str = "Azure Linux OVAL Definition Generator",
) -> bytes:
    parts = [t.split("|") for t in tests]
    product = f"<oval:product_name>{generator}</oval:product_name>" if generator else ""
    return (
        '<?xml version="1.0"?>\n'
        '<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"'
        ' xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5"'
        ' xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">\n'
        f"<generator>{product}</generator>\n"
        f"<definitions>{''.join(definitions)}</definitions>\n"
        f"<tests>{''.join(p[0] for p in parts)}</tests>\n"
        f"<objects>{''.join(p[1] for p in parts)}</objects>\n"
        f"<states>{''.join(p[2] for p in parts)}</states>\n"
        "</oval_definitions>\n"
    ).encode()


def simple(number: int = 1, **kwargs: str) -> bytes:
    return document([definition(number, **kwargs)], [rpm_test(number, f"p{number}")])


# The shared fixtures.


def test_azure_linux_fixture():
    result = oval.parse(fixture("oval/vunnel_azure-linux-3.0-oval-truncated.xml"))
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (3, 3, 0)
    assert sum(len(a.affected) for a in result.advisories) == 3
    assert (
        result.note == "Azure Linux OVAL: 3 vulnerability definitions, 0 other definitions skipped"
    )
    advisories = by_id(result)
    freeglut = advisories["oval:com.microsoft.azurelinux:def:39708"]
    assert freeglut.source == "azurelinux-oval"
    assert (
        freeglut.title == "CVE-2024-24258 affecting package freeglut for versions less than 3.4.0-1"
    )
    assert freeglut.description.startswith("CVE-2024-24258 affecting package freeglut")
    assert freeglut.kind == "security"
    assert freeglut.severity == "high"
    assert freeglut.aliases == ("CVE-2024-24258",)
    assert freeglut.references == ("https://nvd.nist.gov/vuln/detail/CVE-2024-24258",)
    assert freeglut.published_at == utc(2024, 4, 17, 22, 2, 46)
    assert freeglut.modified_at is None
    [row] = freeglut.affected
    assert (row.package_type, row.name, row.distro, row.product) == (
        "rpm",
        "freeglut",
        "azurelinux-3.0",
        "Azure Linux",
    )
    assert (row.fixed_version, row.vers, row.status) == (
        "3.4.0-1.azl3",
        "vers:rpm/<3.4.0-1.azl3",
        "affected",
    )
    assert row.fix_available_at == utc(2024, 4, 17, 22, 2, 46)
    ceph = advisories["oval:com.microsoft.azurelinux:def:39076"]
    assert ceph.severity == "critical"
    assert [(r.name, r.fixed_version) for r in ceph.affected] == [("ceph", "18.2.1-1.azl3")]
    assert_valid_vers(result)


def test_mariner_fixture():
    result = oval.parse(fixture("oval/vunnel_mariner-2.0-oval-truncated.xml"))
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (5, 5, 0)
    assert sum(len(a.affected) for a in result.advisories) == 5
    assert result.note.startswith("CBL-Mariner OVAL: 5 vulnerability definitions")
    advisories = by_id(result)
    golang = advisories["oval:com.microsoft.cbl-mariner:def:44771"]
    assert golang.published_at is None  # no advisory_date
    [row] = golang.affected
    # "greater than" AND "less than" on one package: one range
    assert (row.name, row.distro, row.vers, row.fixed_version, row.status) == (
        "golang",
        "mariner-2.0",
        "vers:rpm/>1.19.0.cm2|<1.20.7-1.cm2",
        "1.20.7-1.cm2",
        "affected",
    )
    assert row.fix_available_at is None
    glibc = advisories["oval:com.microsoft.cbl-mariner:def:13348"]  # patchable Not Applicable
    [row] = glibc.affected
    assert (row.status, row.vers, row.fixed_version) == (
        "not_affected",
        "vers:rpm/<=2.35-4.cm2",
        "",
    )
    bind = advisories["oval:com.microsoft.cbl-mariner:def:13203"]  # patchable false
    [row] = bind.affected
    assert (row.status, row.vers, row.fixed_version, row.fix_available_at) == (
        "affected",
        "vers:rpm/<=9.16.33-1.cm2",
        "",
        None,
    )
    mysql = advisories["oval:com.microsoft.cbl-mariner:def:26178"]
    assert mysql.severity == "medium"
    assert mysql.published_at == utc(2023, 5, 3, 16, 24, 32)
    assert [(r.name, r.fixed_version, r.product) for r in mysql.affected] == [
        ("mysql", "8.0.33-1.cm2", "CBL-Mariner")
    ]
    assert_valid_vers(result)


def test_oracle_elsa_oval_is_refused():
    data = fixture("oval/vunnel_oracle-elsa-oval-mock.xml")
    with pytest.raises(FeedError) as caught:
        oval.parse(data, name="elsa.xml")
    assert str(caught.value) == (
        "elsa.xml: not an Azure Linux / CBL-Mariner OVAL document: this is Oracle Linux ELSA "
        "OVAL (generator 'Oracle Errata System'); the azurelinux-oval parser does not read it"
    )


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "xz", "zstd"],
)
def test_compressed_fixture_reads_the_same(compress):
    plain = fixture("oval/vunnel_mariner-2.0-oval-truncated.xml")
    assert oval.parse(compress(plain)) == oval.parse(plain)


# Documents of other sources and random documents.


@pytest.mark.parametrize(
    "directory", ["updateinfo", "fedora-bodhi", "debian", "nvd", "cve5", "csaf", "osv", "kev"]
)
def test_other_sources_fixtures_are_refused(directory):
    for path in fixtures_in(directory):
        with pytest.raises(
            FeedError, match=r"not an Azure Linux / CBL-Mariner OVAL document|not well-formed"
        ):
            oval.parse(path.read_bytes(), name=path.name)


def test_random_documents_are_refused():
    with pytest.raises(FeedError, match="the root element is <updates>, expected"):
        oval.parse(fixture("updateinfo/createrepo_c_updateinfo_01.xml"))
    with pytest.raises(FeedError, match="the document is JSON"):
        oval.parse(b'{"oval_definitions": {}}')
    with pytest.raises(FeedError, match="expected <oval_definitions> in namespace"):
        oval.parse(b"<oval_definitions><definitions/></oval_definitions>")
    with pytest.raises(FeedError, match="the document has generator 'Red Hat OVAL Patch"):
        oval.parse(simple().replace(b"Azure Linux OVAL Definition", b"Red Hat OVAL Patch"))
    with pytest.raises(FeedError, match="the document has no generator product name"):
        oval.parse(
            document([definition(1)], [rpm_test(1, "p1")], generator="").replace(
                b"azurelinux", b"example"
            )
        )


def test_generator_missing_but_microsoft_ids():
    data = document([definition(1)], [rpm_test(1, "p1")], generator="")
    result = oval.parse(data)
    assert result.note.startswith("Azure Linux OVAL: 1 vulnerability")
    assert len(result.advisories) == 1


# Hostile and broken documents.


def test_empty_truncated_and_invalid_utf8_are_refused():
    for data in (b"", b"\n  "):
        with pytest.raises(FeedError, match="the document is empty"):
            oval.parse(data)
    with pytest.raises(FeedError, match="not well-formed XML") as caught:
        oval.parse(simple()[:-60])
    assert caught.value.location.startswith("line ")
    with pytest.raises(FeedError, match="not well-formed XML"):
        oval.parse(simple().replace(b"<description>d", b"<description>\xc3\x28"))


def test_dtd_and_entities_are_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE oval_definitions [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><oval_definitions>&b;</oval_definitions>'
    )
    external = (
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "http://example.org/e">]>'
        b"<oval_definitions>&e;</oval_definitions>"
    )
    for data in (laughs, external):
        with pytest.raises(FeedError, match="DOCTYPE"):
            oval.parse(data)


def test_corrupt_compression_and_bombs_are_refused():
    # A truncated zstd frame is refused, but by what follows: the shared decompressor yields
    # what it has (here nothing, so "the document is empty") instead of saying "truncated".
    packed = zstandard.ZstdCompressor().compress(simple())
    for cut in (30, len(packed) - 8):
        with pytest.raises(FeedError):
            oval.parse(packed[:cut])
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        oval.parse(
            lzma.compress(simple() + b" " * 100_000), limits=FeedLimits(max_decompressed_bytes=5000)
        )


def test_too_many_records_is_refused():
    data = document([definition(n) for n in range(1, 4)], [rpm_test(n, "p") for n in range(1, 4)])
    with pytest.raises(FeedError, match="max_records"):
        oval.parse(data, limits=FeedLimits(max_records=2))


def test_bad_definitions_among_good_ones():
    tests = [rpm_test(n, f"p{n}") for n in (1, 2, 3, 5, 6, 7, 9)]
    tests[2] = tests[2].replace(f"{PREFIX}:ste:3", f"{PREFIX}:ste:missing", 1)  # test -> no state
    tests[3] = tests[3].replace(f"{PREFIX}:obj:5", f"{PREFIX}:obj:missing", 1)  # test -> no object
    tests[4] = tests[4].replace('operation="less than"', 'operation="pattern match"')
    tests[5] = tests[5].replace("rpminfo_test", "textfilecontent54_test")
    definitions = [
        definition(1),
        definition(2, f'<criterion test_ref="{PREFIX}:tst:404"/>'),
        definition(3),
        definition(4, cls="patch"),
        definition(5),
        definition(6),
        definition(7),
        definition(8, patchable="maybe"),
        definition(9, f'<criterion negate="true" test_ref="{PREFIX}:tst:9"/>'),
        definition(10, cls="inventory"),
        '<definition class="vulnerability"><metadata/></definition>',
        definition(12, metadata="<advisory_date>15mangled2</advisory_date>").replace(
            ":tst:12", ":tst:1"
        ),
    ]
    result = oval.parse(document(definitions, tests))
    assert result.records_seen == 12
    assert (
        result.note == "Azure Linux OVAL: 10 vulnerability definitions, 2 other definitions skipped"
    )
    assert [a.external_id for a in result.advisories] == [f"{PREFIX}:def:1", f"{PREFIX}:def:12"]
    assert [(e.location, e.message) for e in result.errors] == [
        (
            f"definition[2] ({PREFIX}:def:2)",
            f"criterion test_ref '{PREFIX}:tst:404' names no test in <tests>",
        ),
        (
            f"definition[3] ({PREFIX}:def:3)",
            f"state_ref '{PREFIX}:ste:missing' names no rpminfo_state in <states>",
        ),
        (
            f"definition[5] ({PREFIX}:def:5)",
            f"test '{PREFIX}:tst:5' names no rpminfo_object ('{PREFIX}:obj:missing')",
        ),
        (
            f"definition[6] ({PREFIX}:def:6)",
            f"state '{PREFIX}:ste:6': <evr datatype='evr_string' operation='pattern match'> "
            "is not an EVR comparison this parser reads",
        ),
        (
            f"definition[7] ({PREFIX}:def:7)",
            f"test '{PREFIX}:tst:7' is a <textfilecontent54_test>, not an rpminfo_test",
        ),
        (
            f"definition[8] ({PREFIX}:def:8)",
            "<patchable> 'maybe' is not true, false or Not Applicable",
        ),
        (f"definition[9] ({PREFIX}:def:9)", "a negated <criterion> is not supported"),
        ("definition[11]", "the definition id '' is not an OVAL id"),
        (
            f"definition[12] ({PREFIX}:def:12)",
            "<advisory_date> '15mangled2' is not a date; the definition is kept without it",
        ),
    ]
    kept = by_id(result)[f"{PREFIX}:def:12"]
    assert kept.published_at is None
    assert kept.affected[0].fix_available_at is None
    assert kept.affected[0].fixed_version == "1.0-1.azl3"


def test_huge_text_is_a_record_error():
    data = document(
        [definition(1, metadata="<x/>").replace("<description>d", "<description>" + "d" * 300)],
        [rpm_test(1, "p1")],
    )
    result = oval.parse(data, limits=FeedLimits(max_string=200))
    assert result.advisories == []
    assert (
        result.errors[0].message == "<description> is 300 characters; the limit is 200 (max_string)"
    )


def test_or_criteria_give_one_row_each_and_and_criteria_one_range():
    criteria = (
        f'<criteria operator="OR"><criterion test_ref="{PREFIX}:tst:1"/>'
        f'<criterion test_ref="{PREFIX}:tst:2"/></criteria>'
        f'<criterion test_ref="{PREFIX}:tst:3"/><criterion test_ref="{PREFIX}:tst:4"/>'
    )
    tests = [
        rpm_test(1, "a", "0:1.0-1.azl3"),
        rpm_test(2, "b", "2:2.0-1.azl3"),
        rpm_test(3, "c", "0:3.0-1.azl3"),
        rpm_test(4, "c", "0:2.5-1.azl3", op="greater than or equal"),
    ]
    [advisory] = oval.parse(document([definition(1, criteria)], tests)).advisories
    assert [(r.name, r.vers, r.fixed_version) for r in advisory.affected] == [
        ("c", "vers:rpm/>=2.5-1.azl3|<3.0-1.azl3", "3.0-1.azl3"),
        ("a", "vers:rpm/<1.0-1.azl3", "1.0-1.azl3"),
        ("b", "vers:rpm/<2:2.0-1.azl3", "2:2.0-1.azl3"),
    ]


def test_test_without_state_is_every_version():
    test = rpm_test(1, "p1").replace(f'<linux-def:state state_ref="{PREFIX}:ste:1"/>', "")
    [advisory] = oval.parse(document([definition(1)], [test])).advisories
    [row] = advisory.affected
    assert (row.vers, row.fixed_version, row.distro, row.status) == ("", "", "", "affected")


def test_advisory_block_dates_and_severity():
    metadata = (
        '<advisory><severity>MODERATE</severity><issued date="2024-02-01"/>'
        '<updated date="2024-03-01 10:00:00"/></advisory>'
    )
    data = simple(metadata=metadata).replace(b"<severity>High</severity>", b"")
    [advisory] = oval.parse(data).advisories
    assert advisory.severity == "medium"
    assert advisory.published_at == utc(2024, 2, 1)
    assert advisory.modified_at == utc(2024, 3, 1, 10)
    assert advisory.affected[0].fix_available_at == utc(2024, 2, 1)


def test_missing_patchable_means_patchable_and_cve_from_title():
    data = simple(patchable="").replace(b"<patchable></patchable>", b"")
    data = data.replace(b'source="CVE"', b'source="other"')
    [advisory] = oval.parse(data).advisories
    assert advisory.aliases == ("CVE-2024-0001",)
    assert advisory.affected[0].fixed_version == "1.0-1.azl3"
