"""evidence.feeds.updateinfo: the shared fixtures (exact counts, pinned fields), compressed
variants, documents of other sources and hostile input written here."""

from __future__ import annotations

import gzip
import lzma

import pytest
import zstandard
from univers.version_range import VersionRange

from evidence.feeds import updateinfo
from evidence.feeds.model import FeedError, FeedLimits, FeedParse
from evidence.feeds.updateinfo import rpm_distro, rpm_evr
from tests.feeds.helpers import by_id, fixture, fixtures_in, utc


def document(*updates: str) -> bytes:
    return ('<?xml version="1.0"?>\n<updates>\n' + "\n".join(updates) + "\n</updates>\n").encode()


def update(
    ident: str = "FEDORA-2024-0001",
    packages: str = '<package name="nano" version="7.2" release="3.fc40" epoch="0" arch="x86_64"/>',
    issued: str = "2024-01-15 04:10:31",
    extra: str = "",
    kind: str = "security",
) -> str:
    return (
        f'<update type="{kind}" status="stable"><id>{ident}</id><title>t {ident}</title>'
        f'<issued date="{issued}"/>{extra}<pkglist><collection short="F40"><name>Fedora 40</name>'
        f"{packages}</collection></pkglist></update>"
    )


def assert_valid_vers(result: FeedParse) -> None:
    for advisory in result.advisories:
        for row in advisory.affected:
            assert str(VersionRange.from_string(row.vers)) == row.vers


# The shared fixtures.


def test_createrepo_c_all_fields():
    result = updateinfo.parse(fixture("updateinfo/createrepo_c_updateinfo_01.xml"))
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (1, 1, 0)
    advisory = result.advisories[0]
    assert advisory.source == "fedora-updateinfo"
    assert advisory.external_id == "foobarupdate_1"
    assert advisory.title == "title_1"
    assert advisory.description == "description_1"
    assert advisory.kind == "enhancement"
    assert advisory.severity == ""  # "severity_1" is no severity word
    assert advisory.published_at == utc(2012, 12, 12)
    assert advisory.modified_at == utc(2012, 12, 12)
    assert advisory.aliases == ()
    assert advisory.references == ("https://foobar/foobarupdate_1",)
    [row] = advisory.affected
    assert (row.package_type, row.name, row.arch, row.product) == (
        "rpm",
        "bar",
        "noarch",
        "foo.component",
    )
    assert (row.fixed_version, row.vers, row.status) == ("2.0.1-3", "vers:rpm/<2.0.1-3", "affected")
    assert row.distro == ""
    assert row.fix_available_at == utc(2012, 12, 12)
    assert_valid_vers(result)


def test_createrepo_c_mangled_dates_keep_the_update_and_report_it():
    result = updateinfo.parse(fixture("updateinfo/createrepo_c_updateinfo_03_mangled-dates.xml"))
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (6, 6, 1)
    assert sum(len(a.affected) for a in result.advisories) == 11
    [error] = result.errors
    assert error.location == "update[3] (RHEA-2012:0057)"
    assert error.message == (
        "<issued date='15mangled2'> is not a date; the advisory is kept without its issued date"
    )
    advisories = by_id(result)
    bear = advisories["RHEA-2012:0057"]
    assert bear.published_at is None
    assert bear.modified_at == utc(2013, 1, 27, 16, 8, 5)  # "... UTC"
    assert [(r.name, r.fixed_version, r.fix_available_at) for r in bear.affected] == [
        ("bear", "4.1-1", None)
    ]
    assert advisories["RHEA-2012:0056"].modified_at == utc(2013, 2, 27, 17, 0, 0)
    assert advisories["RHEA-2012:0056"].kind == "security"
    # POSIX seconds
    duck = advisories["RHEA-2012:0060"]
    assert duck.published_at == utc(2019, 4, 16, 15, 41, 24)
    assert [(r.name, r.module, r.product) for r in duck.affected] == [
        ("duck", "duck:0", "coll_name")
    ]
    two = advisories["RHEA-2012:0059"]
    assert [(r.name, r.module, r.fixed_version) for r in two.affected] == [
        ("kangaroo", "kangaroo:0", "0.3-1"),
        ("duck", "duck:0", "0.7-1"),
    ]
    # collection short="" -> the collection name is the product
    assert advisories["RHEA-2012:0055"].affected[0].product == "1"
    assert_valid_vers(result)


def test_rpmrepo_metadata_fixture():
    result = updateinfo.parse(fixture("updateinfo/rpmrepo_metadata_updateinfo_fixture.xml"))
    assert (result.records_seen, len(result.advisories), len(result.errors)) == (4, 4, 0)
    assert sum(len(a.affected) for a in result.advisories) == 4
    advisories = by_id(result)
    rhsa = advisories["RHSA-2024:1234"]
    assert rhsa.severity == "high"
    assert rhsa.kind == "security"
    assert rhsa.aliases == ("CVE-2024-0001",)
    assert rhsa.title == "Important: kernel security update"
    assert rhsa.published_at == utc(2024, 3, 15)
    assert rhsa.modified_at == utc(2024, 3, 16, 12)
    assert len(rhsa.references) == 3
    assert [(r.name, r.distro, r.fixed_version, r.arch, r.product) for r in rhsa.affected] == [
        ("kernel", "rhel-9", "5.14.0-362.24.1.el9_3", "x86_64", "rhel-9-baseos"),
        ("kernel-core", "rhel-9", "5.14.0-362.24.1.el9_3", "x86_64", "rhel-9-baseos"),
    ]
    nano = advisories["FEDORA-2024-abc123def4"]
    assert nano.severity == "none"
    assert nano.kind == "enhancement"
    # x86_64 and aarch64 builds of one EVR are one row with arch ""
    [row] = nano.affected
    assert (row.name, row.distro, row.fixed_version, row.arch, row.product) == (
        "nano",
        "fedora-40",
        "7.2-3.fc40",
        "",
        "F40",
    )
    assert row.fix_available_at == utc(2024, 1, 15, 4, 10, 31)
    modular = advisories["FEDORA-2024-modular001"]
    assert modular.modified_at is None
    assert modular.severity == "low"
    [row] = modular.affected
    assert (row.module, row.distro, row.fixed_version) == (
        "perl-DBI:1.643",
        "fedora-40",
        "1.643-1.module_f40",
    )
    minimal = advisories["FEDORA-2024-minimal001"]
    assert minimal.affected == []
    assert minimal.severity == ""
    assert_valid_vers(result)


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "xz", "zstd"],
)
def test_compressed_fixture_reads_the_same(compress):
    plain = fixture("updateinfo/rpmrepo_metadata_updateinfo_fixture.xml")
    assert updateinfo.parse(compress(plain)) == updateinfo.parse(plain)


# Documents of other sources and random documents.


@pytest.mark.parametrize(
    "directory", ["oval", "fedora-bodhi", "debian", "nvd", "cve5", "csaf", "osv", "kev"]
)
def test_other_sources_fixtures_are_refused(directory):
    for path in fixtures_in(directory):
        with pytest.raises(FeedError, match=r"not an updateinfo document|not well-formed XML"):
            updateinfo.parse(path.read_bytes(), name=path.name)


def test_oval_is_refused_by_its_root_element():
    data = fixture("oval/vunnel_azure-linux-3.0-oval-truncated.xml")
    with pytest.raises(FeedError) as caught:
        updateinfo.parse(data, name="azl.xml")
    assert str(caught.value) == (
        "azl.xml: not an updateinfo document: the root element is <oval_definitions>, "
        "expected <updates>"
    )


def test_random_xml_and_json_are_refused():
    with pytest.raises(FeedError, match=r"the root element is <rss>, expected <updates>"):
        updateinfo.parse(b"<rss><channel/></rss>")
    with pytest.raises(FeedError, match="the document is JSON"):
        updateinfo.parse(b'{"updates": []}')
    with pytest.raises(FeedError, match="the document is JSON"):
        updateinfo.parse(b"  [1, 2]")


# Hostile and broken documents.


def test_empty_documents_are_refused():
    for data in (b"", b"  \n\t"):
        with pytest.raises(FeedError, match="the document is empty"):
            updateinfo.parse(data)
    # a gzip stream of nothing: refused by the shared gunzip (as "truncated"), never a crash
    with pytest.raises(FeedError):
        updateinfo.parse(gzip.compress(b""))
    with pytest.raises(FeedError, match="the document is empty"):
        updateinfo.parse(zstandard.ZstdCompressor().compress(b"\n"))


def test_truncated_document_is_refused_with_a_position():
    data = document(update())[:-40]
    with pytest.raises(FeedError, match="not well-formed XML") as caught:
        updateinfo.parse(data)
    assert caught.value.location.startswith("line ")


def test_billion_laughs_is_refused():
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        b"<updates><update><id>&lol2;</id></update></updates>"
    )
    with pytest.raises(FeedError, match="DOCTYPE"):
        updateinfo.parse(data)


def test_external_entity_is_refused():
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE updates [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<updates><update><id>&x;</id></update></updates>"
    )
    with pytest.raises(FeedError, match="DOCTYPE"):
        updateinfo.parse(data)


def test_entity_declared_after_a_comment_is_refused():
    data = b'<!-- c --><!DOCTYPE updates [<!ENTITY x "y">]><updates/>'
    with pytest.raises(FeedError, match=r"DOCTYPE|entit"):
        updateinfo.parse(data)


def test_invalid_utf8_is_refused():
    data = document(update()).replace(b"t FEDORA", b"t \xff\xfe FEDORA")
    with pytest.raises(FeedError, match="not well-formed XML"):
        updateinfo.parse(data)


def test_corrupt_compression_is_refused():
    packed = gzip.compress(document(update()))
    with pytest.raises(FeedError, match="gzip"):
        updateinfo.parse(packed[: len(packed) // 2])
    with pytest.raises(FeedError, match="xz"):
        updateinfo.parse(lzma.compress(document(update()))[:40])


def test_decompression_bomb_is_refused():
    packed = zstandard.ZstdCompressor().compress(document(update(extra=" " * 100_000)))
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        updateinfo.parse(packed, limits=FeedLimits(max_decompressed_bytes=10_000))


def test_deep_nesting_is_refused():
    data = b"<updates>" + b"<a>" * 100 + b"</a>" * 100 + b"</updates>"
    with pytest.raises(FeedError, match="nested deeper"):
        updateinfo.parse(data)


def test_too_many_records_is_refused():
    data = document(*(update(f"FEDORA-2024-{n:04}") for n in range(5)))
    with pytest.raises(FeedError, match="max_records"):
        updateinfo.parse(data, limits=FeedLimits(max_records=4))


def test_one_bad_update_among_good_ones():
    data = document(
        update("FEDORA-2024-0001"),
        update("FEDORA-2024-0002", packages='<package name="nano" release="1.fc40"/>'),
        "<update><title>no id</title></update>",
        update("FEDORA-2024-0004", packages='<package name="a b" version="1" release="1"/>'),
        update("FEDORA-2024-0005", packages='<package name="nano" version="1" epoch="x"/>'),
        update("FEDORA-2024-0006", extra="<description>" + "x" * 200 + "</description>"),
        update("FEDORA-2024-0007"),
    )
    result = updateinfo.parse(data, limits=FeedLimits(max_string=100))
    assert result.records_seen == 7
    assert [a.external_id for a in result.advisories] == ["FEDORA-2024-0001", "FEDORA-2024-0007"]
    assert [(e.location, e.message) for e in result.errors] == [
        ("update[2] (FEDORA-2024-0002)", "the version '' is not an rpm version"),
        ("update[3]", "the update has no <id>"),
        ("update[4] (FEDORA-2024-0004)", "<package name='a b'> is not an rpm package name"),
        ("update[5] (FEDORA-2024-0005)", "the epoch 'x' is not a number"),
        (
            "update[6] (FEDORA-2024-0006)",
            "<description> is 200 characters; the limit is 100 (max_string)",
        ),
    ]


def test_malformed_updated_date_keeps_the_update():
    data = document(update(extra='<updated date="yesterday"/>'))
    result = updateinfo.parse(data)
    [advisory] = result.advisories
    assert advisory.published_at == utc(2024, 1, 15, 4, 10, 31)
    assert advisory.modified_at is None
    [error] = result.errors
    assert error.location == "update[1] (FEDORA-2024-0001)"
    assert "<updated date='yesterday'> is not a date" in error.message


def test_huge_posix_date_is_a_record_error_not_a_crash():
    result = updateinfo.parse(document(update(issued="99999999999999999999")))
    assert result.advisories[0].published_at is None
    assert "is not a date" in result.errors[0].message


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        ("2024-01-15 04:10:31", utc(2024, 1, 15, 4, 10, 31)),
        ("2024-01-15 04:10:31 UTC", utc(2024, 1, 15, 4, 10, 31)),
        ("2024-01-15", utc(2024, 1, 15)),
        ("1705291831", utc(2024, 1, 15, 4, 10, 31)),
        ("2024-01-15T06:10:31+02:00", utc(2024, 1, 15, 4, 10, 31)),
    ],
)
def test_date_forms(issued, expected):
    [advisory] = updateinfo.parse(document(update(issued=issued))).advisories
    assert advisory.published_at == expected
    assert advisory.published_at.tzinfo is not None
    assert advisory.affected[0].fix_available_at == expected


def test_epoch_is_written_only_when_not_zero():
    packages = (
        '<package name="a" version="1.0" release="1.fc40" epoch="2" arch="x86_64"/>'
        '<package name="b" version="1.0" release="1.fc40" epoch="0" arch="x86_64"/>'
        '<package name="c" version="1.0" release="1.fc40" arch="noarch"/>'
    )
    [advisory] = updateinfo.parse(document(update(packages=packages))).advisories
    assert [(r.name, r.fixed_version, r.vers) for r in advisory.affected] == [
        ("a", "2:1.0-1.fc40", "vers:rpm/<2:1.0-1.fc40"),
        ("b", "1.0-1.fc40", "vers:rpm/<1.0-1.fc40"),
        ("c", "1.0-1.fc40", "vers:rpm/<1.0-1.fc40"),
    ]


def test_arches_are_merged_only_for_the_same_evr():
    packages = (
        '<package name="a" version="1" release="1.el9" arch="x86_64"/>'
        '<package name="a" version="1" release="1.el9" arch="aarch64"/>'
        '<package name="a" version="1" release="1.el8" arch="x86_64"/>'
        '<package name="a" version="1" release="1.el8" arch="x86_64"/>'
    )
    [advisory] = updateinfo.parse(document(update(packages=packages))).advisories
    assert [(r.distro, r.arch) for r in advisory.affected] == [("rhel-9", ""), ("rhel-8", "x86_64")]


def test_aliases_and_references():
    extra = (
        "<references>"
        '<reference type="cve" id="cve-2024-1111" title="CVE-2024-2222 and CVE-2024-1111"'
        ' href="https://example.org/a"/>'
        '<reference type="other" id="CVE-2024-3333" href="javascript:alert(1)"/>'
        '<reference type="bugzilla" id="1" title="CVE-2024-4444 in the title only"'
        ' href="https://example.org/a"/>'
        '<reference type="self" id="FEDORA-2024-0001" href="http://example.org/self"/>'
        "</references>"
    )
    [advisory] = updateinfo.parse(document(update(extra=extra))).advisories
    assert advisory.aliases == ("CVE-2024-1111", "CVE-2024-2222", "CVE-2024-3333")
    assert advisory.references == ("https://example.org/a", "http://example.org/self")


def test_unknown_type_is_unspecified():
    [advisory] = updateinfo.parse(document(update(kind="feature"))).advisories
    assert advisory.kind == "unspecified"


def test_incomplete_module_is_a_record_error():
    packages = '<module name="ruby"/><package name="ruby" version="3.3" release="1.el9"/>'
    result = updateinfo.parse(document(update(packages=packages)))
    assert result.advisories == []
    assert "<module name='ruby' stream=''> is incomplete" in result.errors[0].message


@pytest.mark.parametrize(
    ("release", "distro"),
    [
        ("3.fc40", "fedora-40"),
        ("1.fc9", "fedora-9"),
        ("1.module_f40", "fedora-40"),
        ("1.azl3", "azurelinux-3.0"),
        ("2.cm2", "mariner-2.0"),
        ("2.cm1", "mariner-1.0"),
        ("362.24.1.el9_3", "rhel-9"),
        ("9.el7.1", "rhel-7"),
        ("1.el8", "rhel-8"),
        ("1.el8_10.2", "rhel-8"),
        ("111.module+el8.9.0+19193+435404ae", "rhel-8"),
        ("1", ""),
        ("400.302.2.el6uek", ""),
        ("1.felt", ""),
        ("1.fc40~rc1", "fedora-40"),
    ],
)
def test_rpm_distro(release, distro):
    assert rpm_distro(release) == distro


def test_rpm_evr_refuses_junk():
    assert rpm_evr(None, "1.0", "") == "1.0"
    assert rpm_evr(3, "1.0", "2") == "3:1.0-2"
    for epoch, version, release in (
        (True, "1", "1"),
        (-1, "1", "1"),
        ("1.5", "1", "1"),
        (None, "1-2", "1"),
        (None, "1", "a b"),
        (None, "", "1"),
        ([], "1", "1"),
    ):
        with pytest.raises(ValueError):
            rpm_evr(epoch, version, release)
