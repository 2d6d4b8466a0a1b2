"""CSAF parser: every csaf/ fixture pinned (ids, counts by status, fixed versions with epochs,
fix dates, aliases, severities) and the documents it must refuse. Hostile input and the
changes.csv / deletions.csv indexes are in test_parse_csaf_input.py."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.feeds import csaf
from evidence.feeds.model import Advisory, FeedError, FeedParse
from tests.feeds.csaf_support import FIXTURES, _fixture


def _parse(relative: str) -> FeedParse:
    return csaf.parse(_fixture(relative), name=Path(relative).name)


def _advisory(relative: str) -> Advisory:
    result = _parse(relative)
    assert result.errors == []
    assert len(result.advisories) == 1
    return result.advisories[0]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _by_status(advisory: Advisory) -> dict[str, int]:
    return dict(Counter(row.status for row in advisory.affected))


# --- every fixture: id, kind, severity, CVSS, rows by status, vulnerabilities read ----------

FIXTURE_TABLE = [
    # file, id, kind, severity, cvss, rows by status, records_seen
    ("csaf-lib_redhat-vex_cve-2023-20593_TRIMMED.json", "CVE-2023-20593", "vex", "medium", 6.5,
     {"affected": 140, "not_affected": 19}, 1),
    ("oasis-csaf20-vex_2022-evd-uc-01-a-001.json", "2022-EVD-UC-01-A-001", "vex", "", None,
     {"affected": 1}, 1),
    ("oasis-csaf20-vex_2022-evd-uc-01-f-001.json", "2022-EVD-UC-01-F-001", "vex", "", None,
     {"fixed": 1}, 1),
    ("oasis-csaf20-vex_2022-evd-uc-02-na-001.json", "2022-EVD-UC-02-NA-001", "vex", "", None,
     {"not_affected": 1}, 19),
    ("oasis-csaf20-vex_sec-vex-2022-0001.json", "SEC-VEX-2022-0001", "vex", "", None,
     {"not_affected": 1}, 3),
    ("oasis-csaf20_bsi-2022-0001.json", "BSI-2022-0001", "security", "medium", 6.1,
     {"affected": 5, "fixed": 1}, 1),
    ("oasis-csaf20_rhsa-2019_1862.json", "RHSA-2019:1862", "security", "low", None, {}, 0),
    ("oasis-csaf20_rhsa-2021_5186.json", "RHSA-2021:5186", "security", "critical", None,
     {"fixed": 1, "not_affected": 2}, 2),
    ("oasis-csaf20_rhsa-2022_0011.json", "RHSA-2022:0011", "security", "high", None,
     {"affected": 6}, 1),
    ("osv-schema_rhsa-2003_315.json", "RHSA-2003:315", "security", "low", None,
     {"affected": 2}, 1),
    ("osv-schema_rhsa-2024_4546.json", "RHSA-2024:4546", "security", "high", 7.5,
     {"affected": 3}, 1),
    ("osv-schema_rhsa-2024_6220.json", "RHSA-2024:6220", "security", "high", 8.8,
     {"affected": 108}, 1),
    ("trustify_CVE-2023-20862.json", "CVE-2023-20862", "vex", "medium", 6.3,
     {"affected": 13, "not_affected": 9}, 1),
    ("trustify_CVE-2024-34500.json", "CVE-2024-34500", "vex", "medium", 5.3,
     {"affected": 1}, 1),
    ("trustify_RHBA-2024_1440.json", "RHBA-2024:1440", "bugfix", "high", 9.8,
     {"fixed": 2, "not_affected": 14}, 2),
    ("trustify_cve-2023-0044.json", "CVE-2023-0044", "vex", "low", 5.3,
     {"affected": 1, "fixed": 2, "not_affected": 9}, 1),
    ("trustify_rhsa-2023_5835.json", "RHSA-2023:5835", "security", "high", 7.5,
     {"affected": 3}, 2),
    ("trustify_rhsa-2023_7831.json", "RHSA-2023:7831", "security", "high", 7.5,
     {"fixed": 20, "not_affected": 145}, 3),
    ("trustify_rhsa-2024_3666.json", "RHSA-2024:3666", "security", "high", 7.5,
     {"affected": 8}, 2),
    ("trustify_siemens_ssa-054046.json", "SSA-054046", "security", "", 5.3,
     {"affected": 138}, 1),
    ("vunnel_rhsa-2023_7025.json", "RHSA-2023:7025", "security", "medium", 8.8,
     {"affected": 32}, 4),
    ("vunnel_rhsa-2024_6163.json", "RHSA-2024:6163", "security", "medium", 5.3,
     {"affected": 3}, 1),
    ("vunnel_rhsa-2024_9371.json", "RHSA-2024:9371", "security", "medium", 5.3,
     {"affected": 3}, 1),
    ("vunnel_rhsa-2025_23414.json", "RHSA-2025:23414", "security", "high", 8.6,
     {"affected": 8, "not_affected": 4}, 2),
]  # fmt: skip


@pytest.mark.parametrize(
    ("file", "external_id", "kind", "sev", "score", "statuses", "seen"), FIXTURE_TABLE
)
def test_fixture_reads_as_pinned(file, external_id, kind, sev, score, statuses, seen) -> None:
    result = _parse(f"csaf/{file}")
    assert result.errors == []
    assert result.records_seen == seen
    [advisory] = result.advisories
    assert advisory.source == csaf.SOURCE == "redhat-csaf"
    assert (advisory.external_id, advisory.kind, advisory.severity) == (external_id, kind, sev)
    assert advisory.cvss_score == score
    assert _by_status(advisory) == statuses
    assert advisory.withdrawn_at is None
    assert advisory.published_at is not None and advisory.published_at.tzinfo is not None
    assert external_id not in advisory.aliases
    assert list(advisory.aliases) == sorted(set(advisory.aliases))
    for row in advisory.affected:
        assert row.status in ("affected", "fixed", "not_affected", "under_investigation")
        assert "debuginfo" not in row.name and "debugsource" not in row.name
        if row.vers:
            assert row.vers.startswith("vers:")


def test_every_csaf_fixture_is_pinned_or_refused() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    pinned = {row[0] for row in FIXTURE_TABLE} | set(REFUSED_CSAF)
    found = {p.name for p in (FIXTURES / "csaf").glob("*.json")}
    assert found == pinned


# --- Red Hat advisories ---------------------------------------------------------------------


def test_rhsa_2024_6163_source_only_fix_with_remediation_date() -> None:
    advisory = _advisory("csaf/vunnel_rhsa-2024_6163.json")
    assert advisory.title == "Red Hat Security Advisory: python3.9 security update"
    assert advisory.aliases == ("CVE-2024-8088",)
    assert advisory.cvss_vector == "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H"
    assert advisory.published_at == _utc("2024-09-03T17:57:24+00:00")
    assert advisory.modified_at == _utc("2026-03-26T18:50:03+00:00")
    assert advisory.milestones["public"] == _utc("2024-08-22T19:15:09.720000+00:00")
    assert advisory.description.startswith("An update for python3.9 is now available")
    assert advisory.references[0] == "https://access.redhat.com/errata/RHSA-2024:6163"
    assert len(advisory.references) == 4
    # The document lists only the source RPM: kept (nothing else says what was fixed).
    assert [row.product.split(":")[0] for row in advisory.affected] == [
        "AppStream-9.4.0.Z.MAIN.EUS",
        "BaseOS-9.4.0.Z.MAIN.EUS",
        "CRB-9.4.0.Z.MAIN.EUS",
    ]
    for row in advisory.affected:
        assert (row.package_type, row.namespace, row.name, row.arch) == (
            "rpm",
            "redhat",
            "python3.9",
            "src",
        )
        assert (row.distro, row.status) == ("rhel-9", "affected")
        assert row.fixed_version == "3.9.18-3.el9_4.5"
        assert row.vers == "vers:rpm/<3.9.18-3.el9_4.5"
        assert row.fix_available_at == _utc("2024-09-03T17:57:24+00:00")


def test_two_advisories_give_the_fix_timeline_of_one_cve() -> None:
    first = _advisory("csaf/vunnel_rhsa-2024_6163.json")
    second = _advisory("csaf/vunnel_rhsa-2024_9371.json")
    assert first.aliases == second.aliases == ("CVE-2024-8088",)
    assert {r.fix_available_at for r in first.affected} == {_utc("2024-09-03T17:57:24+00:00")}
    assert {r.fix_available_at for r in second.affected} == {_utc("2024-11-12T09:38:54+00:00")}
    assert {r.fixed_version for r in second.affected} == {"3.9.19-8.el9"}


def test_rhsa_2024_3666_epoch_from_purl_and_rhsa_labelled_vex() -> None:
    advisory = _advisory("csaf/trustify_rhsa-2024_3666.json")
    assert advisory.kind == "security"  # category says csaf_vex; the RHSA id decides
    assert advisory.aliases == ("CVE-2024-23672", "CVE-2024-24549")
    assert advisory.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    names = [row.name for row in advisory.affected]
    assert names[0] == "tomcat" and len(set(names)) == 8  # the src row and CVE repeats gone
    for row in advisory.affected:
        assert (row.distro, row.arch, row.module) == ("rhel-8", "noarch", "")
        assert row.fixed_version == "1:9.0.87-1.el8_10.1"
        assert row.vers == "vers:rpm/<1:9.0.87-1.el8_10.1"
        assert row.fix_available_at == _utc("2024-06-06T08:43:10+00:00")
    assert advisory.affected[0].product == (
        "AppStream-8.10.0.Z.MAIN.EUS:tomcat-1:9.0.87-1.el8_10.1.noarch"
    )


def test_rhsa_2022_0011_streams_epoch_from_product_id_and_arch_merge() -> None:
    advisory = _advisory("csaf/oasis-csaf20_rhsa-2022_0011.json")  # no purls at all
    rows = [(r.product.split(":")[0], r.name, r.arch) for r in advisory.affected]
    assert rows == [
        ("7Server-7.6.AUS", "telnet", "x86_64"),
        ("7Server-7.6.AUS", "telnet-server", "x86_64"),
        ("7Server-7.6.E4S", "telnet", ""),  # ppc64le and x86_64 merged
        ("7Server-7.6.E4S", "telnet-server", ""),
        ("7Server-7.6.TUS", "telnet", "x86_64"),
        ("7Server-7.6.TUS", "telnet-server", "x86_64"),
    ]
    assert {r.distro for r in advisory.affected} == {"rhel-7.6"}  # AUS, E4S, TUS: N.M
    assert {r.fixed_version for r in advisory.affected} == {"1:0.17-65.el7_6"}
    assert {r.package_type for r in advisory.affected} == {"rpm"}


def test_rhsa_2024_4546_aus_e4s_tus() -> None:
    advisory = _advisory("csaf/osv-schema_rhsa-2024_4546.json")
    rows = [(r.product.split(":")[0], r.distro, r.arch) for r in advisory.affected]
    assert rows == [
        ("AppStream-8.6.0.Z.AUS", "rhel-8.6", "x86_64"),
        ("AppStream-8.6.0.Z.E4S", "rhel-8.6", ""),
        ("AppStream-8.6.0.Z.TUS", "rhel-8.6", "x86_64"),
    ]
    assert {r.fixed_version for r in advisory.affected} == {"2.13.3-3.el8_6.1"}
    assert advisory.aliases == ("CVE-2023-45288",)


def test_rhsa_2024_6220_module_stream_from_nested_relationships() -> None:
    data = _fixture("csaf/osv-schema_rhsa-2024_6220.json")
    assert len(data) > 500_000
    result = csaf.parse(data)
    advisory = result.advisories[0]
    assert {r.module for r in advisory.affected} == {"python39:3.9"}
    assert {r.distro for r in advisory.affected} == {"rhel-8.6"}
    python39 = [r for r in advisory.affected if r.name == "python39"]
    assert len(python39) == 3  # AUS, E4S, TUS
    assert python39[0].fixed_version == "3.9.7-2.module+el8.6.0+20026+579726f4.2"
    assert not any(r.name == "python39" and r.package_type == "rpmmod" for r in advisory.affected)


def test_rhsa_2023_7025_module_from_purl_and_percent_decoding() -> None:
    advisory = _advisory("csaf/vunnel_rhsa-2023_7025.json")
    assert advisory.aliases == (
        "CVE-2021-33621",
        "CVE-2022-28739",
        "CVE-2023-28755",
        "CVE-2023-28756",
    )
    assert advisory.cvss_score == 8.8
    assert {r.module for r in advisory.affected} == {"ruby:2.5"}
    assert {r.fix_available_at for r in advisory.affected} == {_utc("2023-11-14T15:32:25+00:00")}
    ruby = next(r for r in advisory.affected if r.name == "ruby")
    assert ruby.fixed_version == "2.5.9-111.module+el8.9.0+19193+435404ae"
    assert ruby.arch == ""  # five arches
    assert not any(r.arch == "src" for r in advisory.affected)


def test_rhsa_2025_23414_els_and_big_epoch() -> None:
    advisory = _advisory("csaf/vunnel_rhsa-2025_23414.json")
    assert {r.distro for r in advisory.affected} == {"rhel-6"}  # cpe rhel_els:6
    fixed = {r.fixed_version for r in advisory.affected if r.status == "affected"}
    assert fixed == {"32:9.8.2-0.68.rc1.el6_10.17"}
    not_affected = sorted({r.name for r in advisory.affected if r.status == "not_affected"})
    assert not_affected == ["bind-chroot", "bind-devel"]
    assert {r.justification for r in advisory.affected if r.status == "not_affected"} == {
        "vulnerable_code_not_present"
    }


def test_rhsa_2003_315_legacy_platforms() -> None:
    advisory = _advisory("csaf/osv-schema_rhsa-2003_315.json")
    assert [(r.product.split(":")[0], r.name, r.arch) for r in advisory.affected] == [
        ("3AS", "quagga", ""),
        ("3ES", "quagga", ""),
    ]
    assert {r.distro for r in advisory.affected} == {"rhel-3"}
    assert {r.fixed_version for r in advisory.affected} == {"0.96.2-8.3E"}


def test_rhsa_2023_5835_three_rhel7_variants() -> None:
    advisory = _advisory("csaf/trustify_rhsa-2023_5835.json")
    assert [r.product.split(":")[0] for r in advisory.affected] == [
        "7Client-7.9.Z",
        "7Server-7.9.Z",
        "7Workstation-7.9.Z",
    ]
    assert {(r.distro, r.fixed_version) for r in advisory.affected} == {("rhel-7", "0.5-1.el7_9")}


def test_container_advisories_take_the_oci_purl() -> None:
    advisory = _advisory("csaf/trustify_rhsa-2023_7831.json")
    fixed = [r for r in advisory.affected if r.status == "fixed"]
    assert len(fixed) == 20
    assert Counter(r.arch for r in fixed) == {"amd64": 7, "ppc64le": 6, "s390x": 4, "arm64": 3}
    first = fixed[0]
    assert (first.package_type, first.name, first.distro, first.vers) == (
        "oci",
        "ose-cluster-network-operator",
        "",
        "",
    )
    assert first.fixed_version == (
        "sha256:9c9d8ad493c3be9f9ebeeaeb46af3aef3d2be62d0b5822357be53c22364bef7c"
    )
    assert first.fix_available_at == _utc("2024-01-03T20:04:32+00:00")
    assert {r.justification for r in advisory.affected if r.status == "not_affected"} == {
        "vulnerable_code_not_present"
    }


def test_rhba_is_a_bugfix_carrying_cves() -> None:
    advisory = _advisory("csaf/trustify_RHBA-2024_1440.json")
    assert advisory.aliases == ("CVE-2023-39326", "CVE-2023-42282")
    assert [(r.name, r.package_type) for r in advisory.affected if r.status == "fixed"] == [
        ("mtv-api-rhel9", "oci"),
        ("mtv-console-plugin-rhel9", "oci"),
    ]


def test_informational_advisory_without_vulnerabilities() -> None:
    result = _parse("csaf/oasis-csaf20_rhsa-2019_1862.json")
    assert result.records_seen == 0
    assert result.advisories[0].affected == []
    assert result.note == "csaf_informational_advisory, tracking status final"


def test_rhsa_2021_5186_container_without_purl_is_generic() -> None:
    advisory = _advisory("csaf/oasis-csaf20_rhsa-2021_5186.json")
    assert advisory.aliases == ("CVE-2021-4104", "CVE-2021-4125")
    fixed = next(r for r in advisory.affected if r.status == "fixed")
    assert fixed.package_type == "generic"
    assert fixed.name.startswith("openshift4/ose-metering-hive:v4.6.0")
    assert (fixed.fixed_version, fixed.vers, fixed.distro) == ("", "", "")


# --- Red Hat VEX ----------------------------------------------------------------------------


def test_redhat_vex_per_stream_fix_timeline() -> None:
    advisory = _advisory("csaf/csaf-lib_redhat-vex_cve-2023-20593_TRIMMED.json")
    assert advisory.aliases == ()  # its only CVE is its own id
    dates = {(r.distro, r.fix_available_at) for r in advisory.affected if r.fix_available_at}
    assert dates == {
        ("rhel-7", _utc("2023-08-29T09:38:39+00:00")),  # RHSA-2023:4819 kernel
        ("rhel-7", _utc("2023-11-27T16:26:26+00:00")),  # RHSA-2023:7513 linux-firmware
        ("rhel-8", _utc("2023-09-19T15:09:04+00:00")),
        ("rhel-8", _utc("2023-09-19T14:07:10+00:00")),
        ("rhel-9", _utc("2023-09-12T11:07:35+00:00")),
        ("rhel-9", _utc("2023-09-12T09:49:21+00:00")),
    }
    kernels = {(r.distro, r.fixed_version, r.arch) for r in advisory.affected if r.name == "kernel"}
    assert kernels == {
        ("rhel-7", "3.10.0-1160.99.1.el7", ""),
        ("rhel-8", "4.18.0-477.27.1.el8_8", ""),
        ("rhel-9", "5.14.0-284.30.1.el9_2", ""),
        ("rhel-6", "", ""),  # known_not_affected, unversioned
    }
    epochs = {
        (r.name, r.distro): r.fixed_version for r in advisory.affected if r.status != "not_affected"
    }
    assert epochs[("iwl1000-firmware", "rhel-7")] == "1:39.31.5.1-81.el7_9"
    assert epochs[("libertas-usb8388-firmware", "rhel-8")] == "2:20230404-117.git2e92a49f.el8_8"
    assert not any(r.arch == "src" for r in advisory.affected)


def test_redhat_vex_not_affected_with_flags() -> None:
    advisory = _advisory("csaf/csaf-lib_redhat-vex_cve-2023-20593_TRIMMED.json")
    rows = [r for r in advisory.affected if r.status == "not_affected"]
    assert len(rows) == 19
    assert {r.justification for r in rows} == {"vulnerable_code_not_present"}
    rhel6 = next(r for r in rows if r.product == "red_hat_enterprise_linux_6:kernel")
    assert (rhel6.package_type, rhel6.name, rhel6.distro, rhel6.vers) == (
        "rpm",
        "kernel",
        "rhel-6",
        "",
    )


def test_redhat_vex_known_affected_with_remediation_categories() -> None:
    advisory = _advisory("csaf/trustify_CVE-2023-20862.json")
    assert Counter((r.status, r.justification) for r in advisory.affected) == {
        ("affected", "no_fix_planned"): 11,
        ("affected", "none_available"): 2,
        ("not_affected", "vulnerable_code_not_present"): 9,
    }
    assert all(r.vers == "" and r.fixed_version == "" for r in advisory.affected)
    log4j = next(
        r for r in advisory.affected if r.product == "red_hat_enterprise_linux_8:log4j:2/log4j"
    )
    assert (log4j.package_type, log4j.name, log4j.module, log4j.distro) == (
        "rpm",
        "log4j",
        "log4j:2",
        "rhel-8",
    )
    jenkins = advisory.affected[0]
    assert (jenkins.package_type, jenkins.name, jenkins.distro) == ("generic", "jenkins", "")


def test_redhat_vex_known_affected_only() -> None:
    [row] = _advisory("csaf/trustify_CVE-2024-34500.json").affected
    assert (row.package_type, row.name, row.arch, row.distro) == ("rpm", "mediawiki", "src", "")
    assert (row.status, row.justification) == ("affected", "no_fix_planned")


def test_redhat_vex_fixed_product_without_component() -> None:
    advisory = _advisory("csaf/trustify_cve-2023-0044.json")
    fixed = [r for r in advisory.affected if r.status == "fixed"]
    assert [r.name for r in fixed] == ["Red Hat build of Quarkus", "Red Hat build of Quarkus 2.7.7"]
    assert {(r.fixed_version, r.vers) for r in fixed} == {("", "")}
    # the vendor_fix remediations have no date: the document's initial_release_date
    assert {r.fix_available_at for r in fixed} == {_utc("2023-01-04T00:00:00+00:00")}
    [affected] = [r for r in advisory.affected if r.status == "affected"]
    assert affected.justification == "none_available"


# --- other vendors --------------------------------------------------------------------------


def test_siemens_ranges_and_remediations() -> None:
    advisory = _advisory("csaf/trustify_siemens_ssa-054046.json")
    assert advisory.aliases == ("CVE-2024-46887",)
    assert advisory.published_at == _utc("2024-10-08T00:00:00+00:00")
    assert {(r.package_type, r.distro, r.status) for r in advisory.affected} == {
        ("generic", "", "affected")
    }
    assert Counter((r.vers, r.justification) for r in advisory.affected) == {
        ("", "none_available"): 84,  # vers:all/* is every version
        ("vers:all/<V3.1.4", "vendor_fix"): 46,
        ("vers:all/<V31.1.4", "vendor_fix"): 7,
        ("vers:all/<V7.0", "vendor_fix"): 1,
    }
    first = advisory.affected[0]
    assert (first.product, first.name) == (
        "1",
        "SIMATIC Drive Controller CPU 1504D TF (6ES7615-4DF10-0AB0)",
    )


def test_bsi_first_fixed_and_known_affected() -> None:
    advisory = _advisory("csaf/oasis-csaf20_bsi-2022-0001.json")
    fixed = [r for r in advisory.affected if r.status == "fixed"]
    assert [(r.product, r.name, r.fixed_version) for r in fixed] == [
        ("CSAFPID-0006", "CVRF-CSAF-Converter", "1.0.0-rc2")
    ]
    affected = [r for r in advisory.affected if r.status == "affected"]
    assert [r.product for r in affected] == [f"CSAFPID-000{n}" for n in range(1, 6)]
    assert {r.justification for r in affected} == {"vendor_fix"}


def test_oasis_vex_examples() -> None:
    [na] = _advisory("csaf/oasis-csaf20-vex_sec-vex-2022-0001.json").affected
    assert (na.name, na.status, na.justification) == (
        "Secvisogram",
        "not_affected",
        "component_not_present",
    )
    [fixed] = _advisory("csaf/oasis-csaf20-vex_2022-evd-uc-01-f-001.json").affected
    assert (fixed.name, fixed.status, fixed.fixed_version) == ("DEF", "fixed", "1.1")
    [affected] = _advisory("csaf/oasis-csaf20-vex_2022-evd-uc-01-a-001.json").affected
    assert (affected.status, affected.justification) == ("affected", "vendor_fix")
    many = _advisory("csaf/oasis-csaf20-vex_2022-evd-uc-02-na-001.json")
    assert len(many.aliases) == 19 and len(many.affected) == 1  # 19 CVEs, one product


# --- documents that are not CSAF 2.0 advisories ---------------------------------------------

REFUSED_CSAF = {
    "oasis-csaf21_rhsa-2022_0011.json": "CSAF version '2.1' is not supported",
    "oasis-csaf20_provider-metadata-example.json": "provider-metadata",
    "oasis-csaf20_rolie-feed-example.json": "ROLIE feed",
    "redhat_security-data-guidelines_csaf-vex-example.json": "unfilled template",
}


@pytest.mark.parametrize(("file", "message"), sorted(REFUSED_CSAF.items()))
def test_csaf_fixture_refused(file: str, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        _parse(f"csaf/{file}")
    assert message in caught.value.message
    assert caught.value.location.startswith(file)


def test_csaf_21_refusal_names_the_version_field() -> None:
    with pytest.raises(FeedError) as caught:
        _parse("csaf/oasis-csaf21_rhsa-2022_0011.json")
    assert caught.value.location.endswith("$.document.csaf_version")


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("vex/trivy_openvex.json", "OpenVEX"),
        ("nvd/vunnel_nvd-api2.0_single-entry.json", "NVD CVE API"),
        ("nvd/osvdev_nvd-cve-2.0_CVE-2017-6507.json", "NVD CVE API"),
        ("cve5/osvdev_CVE-2024-3094.cve5.json", "CVE JSON 5"),
        ("cve5/trustify_CVE-1999-0001.cve5.json", "CVE JSON 5"),
        ("debian/vunnel_debian-security-tracker.json", "no 'document' object"),
        ("debian/osvdev_debian_security_tracker_mock.json", "no 'document' object"),
        ("debian/vunnel_debian-DSA-list.txt", "not JSON"),
        ("osv/osv-schema_redhat_RHSA-2024_4546.osv.json", "OSV record"),
        ("updateinfo/createrepo_c_updateinfo_01.xml", "this is XML"),
    ],
)
def test_other_formats_refused(relative: str, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        _parse(relative)
    assert message in caught.value.message
