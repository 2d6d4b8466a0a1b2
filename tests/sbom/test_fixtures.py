"""Every real SBOM under ../shared/fixtures (cyclonedx/ and spdx/): exact component counts, or the
reason it is refused, and what matters in a few of them."""

from __future__ import annotations

import lzma
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.sbom import Component, ParsedSbom, SbomParseError, sbom_parse

# file -> (component count, "format/encoding/spec version") or (None, words of the refusal)
EXPECTED: dict[str, tuple[int | None, str]] = {
    # CycloneDX
    "cyclonedx/bom-examples_cisa-case1_vex-affected_cdx1.4.json": (None, "VEX document"),
    "cyclonedx/bom-examples_cisa-case1_vex-fixed_cdx1.4.json": (None, "VEX document"),
    "cyclonedx/bom-examples_cisa-case2_vex_cdx1.4.json": (None, "(19 vulnerabilities)"),
    "cyclonedx/bom-examples_dropwizard-1.3.15_cdx1.2.json": (167, "cyclonedx/json/1.2"),
    "cyclonedx/bom-examples_laravel-7.12.0_cdx1.4.json": (62, "cyclonedx/json/1.4"),
    "cyclonedx/bom-examples_laravel-7.12.0_cdx1.4.xml": (62, "cyclonedx/xml/1.4"),
    "cyclonedx/bom-examples_proton-bridge-1.8.0_cdx1.2.json": (201, "cyclonedx/json/1.2"),
    "cyclonedx/bom-examples_vex-companion-bom_cdx1.3.json": (3, "cyclonedx/json/1.3"),
    "cyclonedx/bom-examples_vex_cdx1.4.json": (None, "VEX document"),
    "cyclonedx/cdxlib-own_pr899_cdx1.6.json": (3, "cyclonedx/json/1.6"),
    "cyclonedx/cdxlib-own_webgoat-6.1_cdx1.4.xml": (52, "cyclonedx/xml/1.4"),
    "cyclonedx/cdxlib-schemaTestData_valid-bom-1.5.json": (2, "cyclonedx/json/1.5"),
    "cyclonedx/cdxlib-schemaTestData_valid-bom-1.5.xml": (3, "cyclonedx/xml/1.5"),
    "cyclonedx/cdxlib-schemaTestData_valid-bom-1.6.json": (3, "cyclonedx/json/1.6"),
    "cyclonedx/cdxlib-schemaTestData_valid-bom-1.6.xml": (3, "cyclonedx/xml/1.6"),
    "cyclonedx/cdxlib-schemaTestData_valid-component-identifiers-1.6.json": (
        1,
        "cyclonedx/json/1.6",
    ),
    "cyclonedx/cdxlib-schemaTestData_valid-dependency-1.5.json": (3, "cyclonedx/json/1.5"),
    "cyclonedx/cdxlib-schemaTestData_valid-metadata-lifecycle-1.6.json": (0, "cyclonedx/json/1.6"),
    "cyclonedx/cdxlib-schemaTestData_valid-vulnerability-1.5.json": (1, "cyclonedx/json/1.5"),
    "cyclonedx/cdxlib-schemaTestData_valid-vulnerability-1.6.json": (1, "cyclonedx/json/1.6"),
    "cyclonedx/cdxlib-schemaTestData_valid-vulnerability-1.6.xml": (1, "cyclonedx/xml/1.6"),
    # Invalid JSON upstream (a trailing comma on line 99).
    "cyclonedx/redhat_mandrel-jdk21-rhel8-container_amd64_build.cdx1.6.json": (
        None,
        "not JSON: trailing comma is not allowed (at line 99, column 96)",
    ),
    "cyclonedx/redhat_product_rhel-9.2-main+eus.cdx1.6.json": (3, "cyclonedx/json/1.6"),
    "cyclonedx/redhat_rpm_delve-1.7.2-1.module+el8.6.0_release.cdx1.6.json": (
        26,
        "cyclonedx/json/1.6",
    ),
    "cyclonedx/redhat_rpm_openssl-3.0.7-18.el9_2_release.cdx1.6.json": (36, "cyclonedx/json/1.6"),
    "cyclonedx/trivy_centos-7_image.cdx1.5.json": (3, "cyclonedx/json/1.5"),
    "cyclonedx/trustify_redhat_RHEL-8.10.0.Z_curl-7.61.1-34.el8_10.2.cdx.json": (
        52,
        "cyclonedx/json/1.6",
    ),
    "cyclonedx/trustify_zookeeper-3.9.2.cdx.json": (40, "cyclonedx/json/1.4"),
    # SPDX
    "spdx/redhat_product_rhel-9.2-main+eus.spdx2.3.json": (3, "spdx/json/2.3"),
    "spdx/redhat_rpm_openssl-3.0.7-18.el9_2_release.spdx2.3.json": (38, "spdx/json/2.3"),
    "spdx/redhat_rpm_vim-9.1.083-5.el10_release.spdx2.3.json": (48, "spdx/json/2.3"),
    "spdx/redhat_ubi9-micro-container-9.4-6_amd64_release.spdx2.3.json": (22, "spdx/json/2.3"),
    "spdx/redhat_ubi9-micro-container-9.4-6_index_release.spdx2.3.json": (6, "spdx/json/2.3"),
    "spdx/spdx-examples_04-SBOMwSecurity.spdx2.3.json": (2, "spdx/json/2.3"),
    # Only an ai_AIPackage and a dataset_DatasetPackage: no software_Package to count.
    "spdx/spdx-examples_ai-example02_sbom.spdx3.0.jsonld.json": (0, "spdx/json-ld/3.0"),
    "spdx/spdx-examples_example11_sbom.spdx2.3.json": (4, "spdx/json/2.3"),
    "spdx/spdx-examples_example11_sbom.spdx3.0.jsonld.json": (4, "spdx/json-ld/3.0"),
    "spdx/spdx-examples_example14_examplemaven-enriched.spdx2.3.json": (6, "spdx/json/2.3"),
    "spdx/spdx-examples_example14_examplemaven-enriched.spdx3.0.jsonld.json": (
        6,
        "spdx/json-ld/3.0",
    ),
    "spdx/spdx-examples_example6-bin.spdx2.2.spdx": (1, "spdx/tag-value/2.2"),
    "spdx/spdx-examples_example7-bin.spdx3.0.jsonld.json": (0, "spdx/json-ld/3.0"),
    "spdx/spdx-examples_example9_appbomination.spdx2.2.json": (7, "spdx/json/2.2"),
    "spdx/spdx-tools-python_INVALID_trivy-vmware-fluentd-image.spdx.json": (514, "spdx/json/2.2"),
    "spdx/spdx-tools-python_SPDXJSONExample-v2.2.spdx.json": (4, "spdx/json/2.2"),
    "spdx/spdx-tools-python_SPDXJSONExample-v2.3.spdx.json": (4, "spdx/json/2.3"),
    "spdx/spdx-tools-python_SPDXLite.spdx": (1, "spdx/tag-value/2.2"),
    "spdx/spdx-tools-python_SPDXTagExample-v2.2.spdx": (4, "spdx/tag-value/2.2"),
    "spdx/spdx-tools-python_SPDXTagExample-v2.3.spdx": (4, "spdx/tag-value/2.3"),
    "spdx/spdx-tools-python_SPDXXMLExample-v2.3.spdx.xml": (4, "spdx/xml/2.3"),
    "spdx/spdx-tools-python_SPDXYAMLExample-v2.3.spdx.yaml": (4, "spdx/yaml/2.3"),
    "spdx/trivy_centos-7_image.spdx.json": (4, "spdx/json/2.2"),
    "spdx/trivy_centos-7_image.spdx2.2.spdx": (4, "spdx/tag-value/2.2"),
    "spdx/trustify_redhat_ubi9-9.2-755_container.spdx2.2.json": (610, "spdx/json/2.2"),
    "spdx/trustify_syft-1.8.0_ubi9_image.spdx2.3.json.xz": (203, "spdx/json/2.3"),
    "spdx/trustify_syft-1.8.0_ubi9_image_TRIMMED-no-files.spdx2.3.json": (203, "spdx/json/2.3"),
}


def read(fixtures_dir: Path, name: str) -> bytes:
    data = (fixtures_dir / name).read_bytes()
    return lzma.decompress(data) if name.endswith(".xz") else data


def parsed(fixtures_dir: Path, name: str) -> ParsedSbom:
    return sbom_parse(read(fixtures_dir, name))


def by_name(result: ParsedSbom, name: str) -> Component:
    return next(component for component in result.components if component.name == name)


def test_the_table_names_every_sbom_fixture(fixtures_dir: Path) -> None:
    on_disk = {
        f"{folder}/{path.name}"
        for folder in ("cyclonedx", "spdx")
        for path in (fixtures_dir / folder).iterdir()
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()), ids=sorted(EXPECTED))
def test_fixture_is_parsed_to_the_expected_count_or_refused(
    fixtures_dir: Path, name: str, expected: tuple[int | None, str]
) -> None:
    count, detail = expected
    data = read(fixtures_dir, name)
    if count is None:
        with pytest.raises(SbomParseError) as refused:
            sbom_parse(data)
        assert detail in str(refused.value)
        assert refused.value.location
        return
    result = sbom_parse(data)
    assert f"{result.format}/{result.encoding}/{result.spec_version}" == detail
    assert result.component_count == count == len(result.components)
    assert all(component.purl.startswith("pkg:") for component in result.components)
    assert set(result.ntia) == {
        "supplier",
        "name",
        "version",
        "unique_identifier",
        "dependencies",
        "author",
        "timestamp",
    }


def test_laravel_json_and_xml_give_the_same_components(fixtures_dir: Path) -> None:
    from_json = parsed(fixtures_dir, "cyclonedx/bom-examples_laravel-7.12.0_cdx1.4.json")
    from_xml = parsed(fixtures_dir, "cyclonedx/bom-examples_laravel-7.12.0_cdx1.4.xml")

    assert from_json.components == from_xml.components
    assert from_json.ntia == from_xml.ntia
    assert from_json.schema_valid is from_xml.schema_valid is True
    cors = by_name(from_json, "stack-cors")
    assert (cors.purl, cors.namespace) == ("pkg:composer/asm89/stack-cors@1.3.0", "asm89")


def test_red_hat_rpm_purls_give_epoch_release_and_arch(fixtures_dir: Path) -> None:
    result = parsed(fixtures_dir, "cyclonedx/redhat_rpm_openssl-3.0.7-18.el9_2_release.cdx1.6.json")

    devel = next(c for c in result.components if c.purl.startswith("pkg:rpm/redhat/openssl-devel"))
    assert (devel.type, devel.namespace, devel.version) == ("rpm", "redhat", "3.0.7-18.el9_2")
    assert (devel.epoch, devel.release) == ("1", "18.el9_2")
    assert devel.arch in {"aarch64", "i686", "ppc64le", "s390x", "x86_64"}
    assert devel.hashes and devel.hashes[0][0] == "sha256"
    assert result.created_at == datetime(2006, 8, 14, 2, 34, 56, tzinfo=UTC)
    assert result.subject == "openssl 3.0.7-18.el9_2"


def test_trivy_epoch_and_distro_qualifiers_in_cyclonedx_and_spdx(fixtures_dir: Path) -> None:
    for name in (
        "cyclonedx/trivy_centos-7_image.cdx1.5.json",
        "spdx/trivy_centos-7_image.spdx.json",
        "spdx/trivy_centos-7_image.spdx2.2.spdx",
    ):
        openssl = by_name(parsed(fixtures_dir, name), "openssl-libs")
        assert openssl.purl == (
            "pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=centos-7.6.1810&epoch=1"
        ), name
        assert (openssl.epoch, openssl.release, openssl.distro) == (
            "1",
            "16.el7",
            "centos-7.6.1810",
        )


def test_trivy_spdx_that_spdx_tools_refuses_is_read_with_its_complaints(fixtures_dir: Path) -> None:
    result = parsed(fixtures_dir, "spdx/trivy_centos-7_image.spdx.json")

    assert result.schema_valid is False
    assert any("download_location is missing" in warning for warning in result.warnings)
    # Fractional seconds are fine here, whatever spdx-tools says about them.
    assert result.created_at == datetime(2022, 9, 13, 13, 27, 55, 874784, tzinfo=UTC)
    assert result.ntia["author"] == result.ntia["timestamp"] == 1.0


def test_spdx_tag_value_from_spdx_tools_and_from_json_agree(fixtures_dir: Path) -> None:
    tag_value = parsed(fixtures_dir, "spdx/spdx-tools-python_SPDXTagExample-v2.3.spdx")
    json_form = parsed(fixtures_dir, "spdx/spdx-tools-python_SPDXJSONExample-v2.3.spdx.json")
    yaml_form = parsed(fixtures_dir, "spdx/spdx-tools-python_SPDXYAMLExample-v2.3.spdx.yaml")
    xml_form = parsed(fixtures_dir, "spdx/spdx-tools-python_SPDXXMLExample-v2.3.spdx.xml")

    assert tag_value.schema_valid is True
    assert tag_value.components == json_form.components == yaml_form.components
    assert xml_form.components == json_form.components
    # glibc has no purl, so its identity is derived from its name; its CPE (for another
    # product in this example) stays in .cpe.
    glibc = next(c for c in json_form.components if c.bom_ref == "SPDXRef-Package")
    assert glibc.purl == "pkg:generic/glibc@2.11.1"
    assert glibc.licenses == ("LGPL-2.0-only OR LicenseRef-3", "LGPL-2.0-only AND LicenseRef-3")
    assert ("md5", "624c1abb3664f4b35547e7c73864ad24") in glibc.hashes
    assert glibc.supplier == "Jane Doe"


def test_syft_files_are_not_components_and_do_not_slow_spdx_tools(fixtures_dir: Path) -> None:
    full = parsed(fixtures_dir, "spdx/trustify_syft-1.8.0_ubi9_image.spdx2.3.json.xz")
    trimmed = parsed(
        fixtures_dir, "spdx/trustify_syft-1.8.0_ubi9_image_TRIMMED-no-files.spdx2.3.json"
    )

    assert full.components == trimmed.components
    assert full.schema_valid is True
    acl = by_name(full, "acl")
    assert (acl.type, acl.namespace, acl.distro, acl.arch) == (
        "rpm",
        "redhat",
        "rhel-9.4",
        "x86_64",
    )
    assert acl.cpe.startswith("cpe:2.3:")


def test_spdx_3_packages(fixtures_dir: Path) -> None:
    result = parsed(fixtures_dir, "spdx/spdx-examples_example11_sbom.spdx3.0.jsonld.json")

    assert [c.purl for c in result.components] == [
        "pkg:deb/debian/libselinux1-dev@3.1-3?arch=s390x",
        "pkg:cargo/hyper@0.14",
        "pkg:cargo/tokio@1.19.2",
        "pkg:cargo/pretty_env_logger@0.4.0",
    ]
    assert by_name(result, "hyper").licenses == ("MIT",)
    assert result.created_at is not None


def test_spdx_3_ai_profile_elements_are_tolerated_and_not_counted(fixtures_dir: Path) -> None:
    result = parsed(fixtures_dir, "spdx/spdx-examples_ai-example02_sbom.spdx3.0.jsonld.json")

    assert result.component_count == 0
    assert any("ai_AIPackage" in warning for warning in result.warnings)


def test_ubi9_spdx_tools_findings_are_capped(fixtures_dir: Path) -> None:
    result = parsed(fixtures_dir, "spdx/trustify_redhat_ubi9-9.2-755_container.spdx2.2.json")

    assert result.schema_valid is False
    tools = [warning for warning in result.warnings if warning.startswith("spdx-tools:")]
    assert len(tools) == 50
    assert any(warning.startswith("... and ") for warning in result.warnings)
