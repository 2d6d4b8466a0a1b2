"""The OSV parser against the real records in shared/fixtures/osv, documents of other formats,
and the mapping decisions; hostile, broken, compressed and zipped input is in
test_parse_osv_input.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from evidence.feeds import osv
from evidence.feeds.model import Advisory, FeedError
from tests.feeds.osv_support import FIXTURES, affected_with, fixture, only, record


def parse_record(value: dict[str, Any]) -> Advisory:
    return only(osv.parse(json.dumps(value).encode()))


# --- every fixture: exact counts --------------------------------------------------------------

# file -> (advisories, affected rows, record errors)
COUNTS = {
    "osv-schema_ghsa-conv_full_ranges.osv.json": (1, 2, 0),
    "osv-schema_ghsa-conv_withdrawn.osv.json": (1, 3, 0),
    "osv-schema_linter_CVE-2018-5407.json": (1, 6, 0),
    "osv-schema_linter_CVE-2023-41045.json": (1, 0, 0),
    "osv-schema_linter_GHSA-9v2f-6vcg-3hgv.json": (1, 1, 0),
    "osv-schema_linter_GO-2024-2963.json": (1, 2, 0),
    "osv-schema_linter_MAL-2024-10238.json": (1, 1, 0),
    "osv-schema_linter_PYSEC-2023-74.json": (1, 1, 0),
    "osv-schema_linter_RHSA-2022_0216.json": (1, 0, 0),
    "osv-schema_redhat_RHSA-2024_4546.osv.json": (1, 9, 0),
    "osv-schema_redhat_RHSA-2024_6220.osv.json": (1, 228, 0),
    "pypa-advisory-db_django_PYSEC-0000-CVE-2024-45230.yaml": (1, 3, 0),
    "pypa-advisory-db_urllib3_PYSEC-2023-192.yaml": (1, 2, 0),
    "trustify_GHSA-2ccf-ffrj-m4qw.json": (1, 2, 0),
    "trustify_GHSA-458h-wv48-fq75.json": (1, 3, 0),
    "trustify_GHSA-rh58-r7jh-xhx3.json": (1, 33, 0),
    "trustify_PYSEC-2024-55.yaml": (1, 1, 0),
    "trustify_RSEC-2023-6.yaml": (1, 1, 0),
    "trustify_RUSTSEC-2021-0079.json": (1, 1, 0),
    "vunnel_almalinux8_ALBA-2021-4378.json": (1, 7, 0),
    "vunnel_almalinux8_ALSA-2023-4520.json": (1, 1, 0),
    "vunnel_almalinux9_ALSA-2024-2433.json": (1, 10, 0),
    "vunnel_govulndb_GO-2024-2611.json": (1, 1, 0),
    "vunnel_rocky_RLSA-2021-3891.json": (1, 1, 0),
    "vunnel_rocky_RLSA-2024-3671.json": (1, 3, 0),
}


def test_every_osv_fixture_is_counted() -> None:
    folder = FIXTURES / "osv"
    if not folder.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    assert {p.name for p in folder.iterdir()} == set(COUNTS)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_fixture_counts(name: str) -> None:
    advisories, rows, errors = COUNTS[name]
    result = osv.parse(fixture(f"osv/{name}"), name=name)
    assert len(result.advisories) == advisories
    assert sum(len(a.affected) for a in result.advisories) == rows
    assert len(result.errors) == errors
    assert result.records_seen == advisories + errors
    for advisory in result.advisories:
        assert advisory.source == "osv"
        assert advisory.modified_at is not None and advisory.modified_at.tzinfo is not None
        assert list(advisory.aliases) == sorted(set(advisory.aliases))
        assert advisory.external_id not in advisory.aliases
        for row in advisory.affected:
            assert row.status == "affected"
            assert row.vers.startswith(f"vers:{row.package_type}/") or row.vers == ""


# --- pinned fields ----------------------------------------------------------------------------


def test_rocky_module_stream_fix_kept_as_stated() -> None:
    advisory = only(osv.parse(fixture("osv/vunnel_rocky_RLSA-2024-3671.json")))
    assert advisory.external_id == "RLSA-2024:3671"
    assert advisory.aliases == ("CVE-2024-27280", "CVE-2024-27281", "CVE-2024-27282")
    assert advisory.severity == "medium"  # "Moderate: ruby:3.3 ..."
    ruby = advisory.affected[0]
    assert (ruby.package_type, ruby.namespace, ruby.name) == ("rpm", "rocky-linux", "ruby")
    assert ruby.distro == "rocky-9"
    assert ruby.product == "Rocky Linux:9"
    assert ruby.module == "ruby:3.3"
    assert ruby.fixed_version == "0:3.3.1-2.module+el9.4.0+20787+4c237fd3"
    assert ruby.vers == "vers:rpm/<0:3.3.1-2.module+el9.4.0+20787+4c237fd3"
    assert ruby.fix_available_at == datetime(2024, 6, 14, 14, 0, 40, 182624, tzinfo=UTC)
    assert [row.module for row in advisory.affected] == ["ruby:3.3"] * 3


def test_rocky_epoch_and_cvss_vector() -> None:
    advisory = only(osv.parse(fixture("osv/vunnel_rocky_RLSA-2021-3891.json")))
    row = advisory.affected[0]
    assert row.fixed_version == "1:11.0.13.0.8-1.el8_4"
    assert row.distro == "rocky-8"  # not the purl's "rocky-linux-8-4-legacy"
    assert row.module == ""
    assert advisory.severity == "high"
    assert advisory.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:N/A:N"
    assert advisory.cvss_score is None
    assert len(advisory.aliases) == 10


def test_red_hat_streams_map_to_rhel_release() -> None:
    advisory = only(osv.parse(fixture("osv/osv-schema_redhat_RHSA-2024_4546.osv.json")))
    assert advisory.external_id == "RHSA-2024:4546"
    assert advisory.aliases == ("CVE-2023-45288",)  # upstream; related GO-2024-2687 is not
    assert {row.distro for row in advisory.affected} == {"rhel-8.6"}
    assert {row.product for row in advisory.affected} == {
        "Red Hat:rhel_aus:8.6::appstream",
        "Red Hat:rhel_e4s:8.6::appstream",
        "Red Hat:rhel_tus:8.6::appstream",
    }
    assert {row.fixed_version for row in advisory.affected} == {"0:2.13.3-3.el8_6.1"}
    assert advisory.affected[0].namespace == "redhat"
    assert advisory.published_at == datetime(2024, 9, 2, 14, 30, tzinfo=UTC)


def test_large_red_hat_record() -> None:
    advisory = only(osv.parse(fixture("osv/osv-schema_redhat_RHSA-2024_6220.osv.json")))
    assert advisory.aliases == ("CVE-2024-6345",)
    wheel = [row for row in advisory.affected if row.name == "python39-wheel"]
    assert {row.fixed_version for row in wheel} == {"1:0.35.1-4.module+el8.5.0+12204+54860423"}
    # "Red Hat Security Advisory: python39:3.9 ..." is not an erratum synopsis: no stream guessed
    assert {row.module for row in advisory.affected} == {""}


def test_red_hat_related_cves_become_aliases() -> None:
    advisory = only(osv.parse(fixture("osv/osv-schema_linter_RHSA-2022_0216.json")))
    assert advisory.aliases == ("CVE-2021-44832", "CVE-2021-45046", "CVE-2021-45105")
    assert advisory.affected == []


def test_almalinux_without_epoch() -> None:
    advisory = only(osv.parse(fixture("osv/vunnel_almalinux9_ALSA-2024-2433.json")))
    assert advisory.external_id == "ALSA-2024:2433"
    assert advisory.kind == "security"
    assert advisory.severity == "medium"
    assert advisory.aliases == tuple(f"CVE-2023-{n}" for n in range(38469, 38474))
    assert {row.distro for row in advisory.affected} == {"almalinux-9"}
    assert {row.fixed_version for row in advisory.affected} == {"0.8-20.el9"}
    assert advisory.affected[0].vers == "vers:rpm/<0.8-20.el9"


def test_almalinux_bugfix_advisory() -> None:
    advisory = only(osv.parse(fixture("osv/vunnel_almalinux8_ALBA-2021-4378.json")))
    assert advisory.kind == "bugfix"
    assert advisory.aliases == ()
    assert {row.distro for row in advisory.affected} == {"almalinux-8"}


def test_urllib3_unsorted_events_and_git_range() -> None:
    result = osv.parse(fixture("osv/pypa-advisory-db_urllib3_PYSEC-2023-192.yaml"))
    advisory = only(result)
    assert advisory.aliases == ("CVE-2023-43804", "GHSA-v845-jxx5-vc9f")
    assert [(r.vers, r.fixed_version) for r in advisory.affected] == [
        ("vers:pypi/>=2.0.0|<2.0.6", "2.0.6"),
        ("vers:pypi/<1.26.17", "1.26.17"),
    ]
    assert "1 GIT range skipped" in result.note
    assert (
        advisory.references.count(
            "https://lists.debian.org/debian-lts-announce/2023/10/msg00012.html"
        )
        == 1
    )
    assert advisory.modified_at == datetime(2023, 10, 10, 14, 28, 19, 389317, tzinfo=UTC)


def test_django_three_branches() -> None:
    advisory = only(
        osv.parse(fixture("osv/pypa-advisory-db_django_PYSEC-0000-CVE-2024-45230.yaml"))
    )
    assert advisory.external_id == "PYSEC-0000-CVE-2024-45230"
    assert [r.vers for r in advisory.affected] == [
        "vers:pypi/>=5.1|<5.1.1",
        "vers:pypi/>=5.0|<5.0.9",
        "vers:pypi/>=4.2|<4.2.16",
    ]
    assert advisory.affected[0].fix_available_at == datetime(2024, 10, 8, 16, 15, tzinfo=UTC)


def test_withdrawn_record() -> None:
    advisory = only(osv.parse(fixture("osv/osv-schema_ghsa-conv_withdrawn.osv.json")))
    assert advisory.withdrawn_at == datetime(2018, 10, 11, 17, 29, 49, tzinfo=UTC)
    assert [r.fixed_version for r in advisory.affected] == ["3.2.22", "4.2.2", "4.1.11"]
    assert advisory.affected[2].vers == "vers:gem/>=4.0.0|<4.1.11"


def test_go_semver_and_module_path() -> None:
    stdlib = only(osv.parse(fixture("osv/osv-schema_linter_GO-2024-2963.json")))
    assert [r.vers for r in stdlib.affected] == [
        "vers:golang/<1.21.12",
        "vers:golang/>=1.22.0-0|<1.22.5",
    ]
    protobuf = only(osv.parse(fixture("osv/vunnel_govulndb_GO-2024-2611.json"))).affected[0]
    assert (protobuf.namespace, protobuf.name) == ("google.golang.org", "protobuf")
    assert protobuf.distro == ""


def test_ghsa_versions_only_and_severity() -> None:
    advisory = only(osv.parse(fixture("osv/osv-schema_linter_GHSA-9v2f-6vcg-3hgv.json")))
    assert advisory.severity == "critical"
    row = advisory.affected[0]
    assert (row.package_type, row.name) == ("pypi", "gradio")  # normalised like SBOM purls
    assert row.vers == "vers:pypi/=4.36.1|=4.36.-1"
    assert row.fixed_version == "" and row.fix_available_at is None


def test_last_affected_has_no_fix() -> None:
    advisory = only(osv.parse(fixture("osv/trustify_GHSA-458h-wv48-fq75.json")))
    assert advisory.severity == "medium"
    assert [r.vers for r in advisory.affected] == [
        "vers:maven/<=3.4.3.Final",
        "vers:maven/>=4.0.0.Beta1|<=4.0.0.Beta2",
        "vers:maven/=4.3.0.Final",
    ]
    assert {r.fixed_version for r in advisory.affected} == {""}
    assert advisory.affected[0].namespace == "org.keycloak"


def test_maven_npm_cargo_names() -> None:
    akka = only(osv.parse(fixture("osv/osv-schema_ghsa-conv_full_ranges.osv.json"))).affected[0]
    assert (akka.namespace, akka.name) == ("com.typesafe.akka", "akka-actor_2.12")
    passport = only(osv.parse(fixture("osv/trustify_GHSA-2ccf-ffrj-m4qw.json"))).affected[0]
    assert (passport.namespace, passport.name) == ("@fastify", "passport")
    hyper = only(osv.parse(fixture("osv/trustify_RUSTSEC-2021-0079.json"))).affected[0]
    assert (hyper.package_type, hyper.name, hyper.vers) == (
        "cargo",
        "hyper",
        "vers:cargo/>=0.0.0-0|<0.14.10",
    )


def test_malicious_package_and_open_range() -> None:
    mal = only(osv.parse(fixture("osv/osv-schema_linter_MAL-2024-10238.json")))
    assert mal.kind == "security"
    assert mal.affected[0].vers == "vers:pypi/=0.0.1"
    tiny = only(osv.parse(fixture("osv/trustify_PYSEC-2024-55.yaml")))
    assert tiny.affected[0].vers == "vers:pypi/*"
    assert tiny.modified_at == datetime(1, 1, 1, tzinfo=UTC)


def test_alpine_purl_and_git_only_entry() -> None:
    result = osv.parse(fixture("osv/osv-schema_linter_CVE-2018-5407.json"))
    advisory = only(result)
    assert [r.distro for r in advisory.affected] == [f"alpine-3.{n}" for n in range(3, 9)]
    assert {(r.package_type, r.namespace, r.arch) for r in advisory.affected} == {
        ("apk", "alpine", "source")
    }
    assert "1 GIT range skipped" in result.note


def test_git_only_record_keeps_the_advisory() -> None:
    advisory = only(osv.parse(fixture("osv/osv-schema_linter_CVE-2023-41045.json")))
    assert advisory.aliases == ("GHSA-g96c-x7rh-99r3",)
    assert advisory.affected == []


def test_cran_ecosystem() -> None:
    row = only(osv.parse(fixture("osv/trustify_RSEC-2023-6.yaml"))).affected[0]
    assert (row.package_type, row.product, row.vers) == ("cran", "CRAN", "vers:cran/>=0.2|<1.8")


# --- other formats are refused ----------------------------------------------------------------


def _documents(folder: str, pattern: str = "*") -> list[str]:
    path = FIXTURES / folder
    return sorted(f"{folder}/{p.name}" for p in path.glob(pattern)) if path.is_dir() else []


@pytest.mark.parametrize(
    ("relative", "expected"),
    [(f, "this is a CSAF") for f in _documents("csaf", "*.json") if "rolie" not in f]
    + [(f, "this is a ROLIE feed") for f in _documents("csaf", "*rolie*.json")]
    + [(f, "this is an NVD CVE API 2.0 document, not OSV") for f in _documents("nvd")]
    + [(f, "this is a CVE JSON 5 record, not OSV") for f in _documents("cve5")]
    + [(f, "this is a Debian") for f in _documents("debian")]
    + [(f, "this is the CISA KEV catalog") for f in _documents("kev", "*catalog*")]
    + [(f, "this is a CISA KEV entry") for f in _documents("kev", "*single*")],
)
def test_other_formats_refused(relative: str, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        osv.parse(fixture(relative))
    assert expected in caught.value.message


def test_foreign_fixtures_found() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    assert len(_documents("csaf", "*.json")) >= 20 and _documents("cve5") and _documents("nvd")


# --- mapping decisions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecosystem", "package_type", "distro", "namespace"),
    [
        ("Debian:12", "deb", "debian-12", "debian"),
        ("Debian", "deb", "", "debian"),
        ("Ubuntu:22.04:LTS", "deb", "ubuntu-22.04", "ubuntu"),
        ("Ubuntu:Pro:18.04:LTS", "deb", "ubuntu-18.04", "ubuntu"),
        ("AlmaLinux:9", "rpm", "almalinux-9", "almalinux"),
        ("Rocky Linux:9", "rpm", "rocky-9", "rocky-linux"),
        ("Red Hat:rhel_aus:8.6::appstream", "rpm", "rhel-8.6", "redhat"),
        ("Red Hat:enterprise_linux:9::appstream", "rpm", "rhel-9", "redhat"),
        ("Red Hat:openshift:4.14::el9", "rpm", "", "redhat"),
        ("Azure Linux:3", "rpm", "azurelinux-3.0", "azurelinux"),
        ("Mariner:2", "rpm", "mariner-2.0", "cbl-mariner"),
        ("Alpine:v3.19", "apk", "alpine-3.19", "alpine"),
        ("Wolfi", "generic", "", ""),
        ("Some New Ecosystem:7", "generic", "", ""),
    ],
)
def test_ecosystem_mapping(ecosystem: str, package_type: str, distro: str, namespace: str) -> None:
    row = parse_record(record(affected=[affected_with(ecosystem)])).affected[0]
    assert (row.package_type, row.distro, row.namespace) == (package_type, distro, namespace)
    assert row.product == ecosystem


def test_purl_preferred_and_rpmmod_read() -> None:
    entry = affected_with(
        "Rocky Linux:8",
        name="nodejs",
        purl="pkg:rpm/rocky-linux/nodejs?distro=rocky-linux-8&rpmmod=nodejs:18:8090:abc",
    )
    row = parse_record(record(affected=[entry])).affected[0]
    assert (row.namespace, row.name, row.distro, row.module) == (
        "rocky-linux",
        "nodejs",
        "rocky-8",
        "nodejs:18",
    )


def test_module_from_ecosystem_specific() -> None:
    entry = affected_with("AlmaLinux:8", name="nodejs") | {
        "ecosystem_specific": {"module": "nodejs:20"}
    }
    assert parse_record(record(affected=[entry])).affected[0].module == "nodejs:20"


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [{"introduced": "1.0"}, {"introduced": "2.0"}, {"fixed": "2.5"}],
            [("vers:pypi/>=1.0", ""), ("vers:pypi/>=2.0|<2.5", "2.5")],
        ),
        (
            [{"introduced": "0"}, {"fixed": "1.1"}, {"fixed": "2.1"}],
            [("vers:pypi/<1.1", "1.1"), ("vers:pypi/<2.1", "2.1")],
        ),
        ([{"introduced": "1.0"}, {"limit": "3.0"}], [("vers:pypi/>=1.0|<3.0", "")]),
        ([{"fixed": "1.5"}], [("vers:pypi/<1.5", "1.5")]),
        ([{"introduced": "1.0|x"}, {"fixed": "2 0"}], [("vers:pypi/>=1.0%7Cx|<2%200", "2 0")]),
    ],
)
def test_event_pairs(events: list[dict[str, str]], expected: list[tuple[str, str]]) -> None:
    entry = {
        "package": {"ecosystem": "PyPI", "name": "demo"},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
    }
    advisory = parse_record(record(affected=[entry]))
    assert [(r.vers, r.fixed_version) for r in advisory.affected] == expected


def test_git_range_with_versions_uses_versions() -> None:
    entry = {
        "package": {"ecosystem": "PyPI", "name": "demo"},
        "ranges": [
            {"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}, {"fixed": "abc"}]}
        ],
        "versions": ["1.0", "1.1", "1.0"],
    }
    result = osv.parse(json.dumps(record(affected=[entry])).encode())
    assert only(result).affected[0].vers == "vers:pypi/=1.0|=1.1"
    assert "1 GIT range skipped" in result.note


def test_version_lists_are_capped() -> None:
    entry = {
        "package": {"ecosystem": "npm", "name": "demo"},
        "versions": [f"1.0.{n}" for n in range(1500)],
    }
    result = osv.parse(json.dumps(record(affected=[entry])).encode())
    assert only(result).affected[0].vers.count("=") == osv.VERSIONS_CAP
    assert "cut to 1000" in result.note


def test_entry_without_ranges_or_versions_means_every_version() -> None:
    entry = {"package": {"ecosystem": "npm", "name": "demo"}}
    row = parse_record(record(affected=[entry])).affected[0]
    assert (row.vers, row.fixed_version) == ("", "")


@pytest.mark.parametrize(
    ("record_id", "kind"),
    [("RHBA-2024:1", "bugfix"), ("RHEA-2024:1", "enhancement"), ("MAL-2024-1", "security")],
)
def test_kind_from_errata_id(record_id: str, kind: str) -> None:
    assert parse_record(record(id=record_id)).kind == kind


def test_severity_sources_and_cvss_preference() -> None:
    ubuntu = record(severity=[{"type": "Ubuntu", "score": "high"}])
    assert parse_record(ubuntu).severity == "high"
    entry = affected_with("Debian:12") | {"ecosystem_specific": {"severity": "low"}}
    assert parse_record(record(affected=[entry])).severity == "low"
    vectors = record(
        severity=[
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            {
                "type": "CVSS_V4",
                "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            },
        ]
    )
    advisory = parse_record(vectors)
    assert advisory.cvss_vector.startswith("CVSS:4.0/")
    assert advisory.severity == "" and advisory.cvss_score is None


def test_aliases_sorted_unique_without_own_id() -> None:
    value = record(
        id="GHSA-1", aliases=["CVE-2024-2", "GHSA-1", "CVE-2024-1"], upstream=["CVE-2024-2"]
    )
    assert parse_record(value).aliases == ("CVE-2024-1", "CVE-2024-2")


# --- fast paths give what the general ones give -----------------------------------------------


@pytest.mark.parametrize(
    "package_type", sorted(set(osv._LANGUAGES.values()) | {"rpm", "deb", "hackage", "pub"})
)
def test_canonical_names_agree_with_packageurl(package_type: str) -> None:
    names = ["demo", "Demo", "demo_x", "demo.x-1", "a~b", "a@b", "a b", "naïve", "a%20b", "a:b",
             "a/b", "a?b", "a#b", ".", "..", "-", "_"]  # fmt: skip
    namespaces = ["", "org.example", "Org.Example", "@scope", "github.com/x", "a//b", "a/", "x y"]
    for namespace in namespaces:
        for name in names:
            assert osv._canonical(package_type, namespace, name) == osv._canonical_slow(
                package_type, namespace, name
            ), (package_type, namespace, name)


@pytest.mark.parametrize(
    "value",
    ["2024-05-01T10:20:30Z", "2024-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
     "2024-05-01T24:00:00Z", " 2024-05-01T00:00:0Z", "2024-05-01T10:20:30+02:00"],
)  # fmt: skip
def test_common_timestamp_form_reads_as_parse_datetime(value: str) -> None:
    from evidence.feeds.common import parse_datetime

    try:
        expected: object = parse_datetime(value)
    except ValueError as exc:
        expected = f'"modified": {exc}'
    result = osv.parse(json.dumps(record(modified=value)).encode())
    if isinstance(expected, datetime):
        modified = only(result).modified_at
        assert modified == expected
        assert modified is not None and modified.tzinfo == expected.tzinfo
    else:
        assert result.errors[0].message == expected


def test_identity_cache_is_emptied_after_parsing() -> None:
    entries = [affected_with("PyPI", name="Demo_Pkg"), affected_with("PyPI", name="demo-pkg")]
    first = parse_record(record(affected=entries))
    assert not osv._identities
    assert [(r.name, r.namespace) for r in first.affected] == [("demo-pkg", "")] * 2
    assert parse_record(record(affected=entries)) == first
