"""CSAF parser: every csaf/ fixture pinned (ids, counts by status, fixed versions with epochs,
fix dates, aliases, severities), the documents it must refuse, hostile input, and the
changes.csv / deletions.csv indexes."""

from __future__ import annotations

import copy
import gzip
import json
import lzma
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard

from evidence.feeds import csaf
from evidence.feeds.model import Advisory, FeedError, FeedLimits, FeedParse

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def _fixture(relative: str) -> bytes:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return (FIXTURES / relative).read_bytes()


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
