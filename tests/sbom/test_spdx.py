"""SPDX 2 (JSON, YAML, XML, tag-value, RDF/XML) and SPDX 3 JSON-LD."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.sbom import SbomParseError, sbom_parse
from evidence.sbom import spdx_tools_bridge as bridge
from evidence.sbom.findings import Findings
from evidence.sbom.model import Limits
from evidence.sbom.spdx2 import actor_name, spdx2_read
from evidence.sbom.spdx2_tagvalue import tag_value_dict
from tests.conftest import DATA

GOOD = DATA / "sbom"


def spdx_json(packages: list[dict[str, object]], **extra: object) -> bytes:
    doc: dict[str, object] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc",
        "documentNamespace": "https://example.test/doc-1",
        "creationInfo": {"created": "2026-11-01T00:00:00Z", "creators": ["Tool: test"]},
        "packages": packages,
    }
    doc.update(extra)
    return json.dumps(doc).encode()


def package(name: str, version: str, purl: str = "") -> dict[str, object]:
    entry: dict[str, object] = {
        "SPDXID": f"SPDXRef-{name}",
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
    }
    if purl:
        entry["externalRefs"] = [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl,
            }
        ]
    return entry


def test_tag_value_that_spdx_tools_refuses_is_read_leniently() -> None:
    result = sbom_parse((GOOD / "small-lenient.spdx").read_bytes())

    assert (result.format, result.encoding, result.spec_version) == ("spdx", "tag-value", "2.3")
    assert result.schema_valid is False
    assert any("download_location" in warning for warning in result.warnings)
    bash, tzdata = result.components
    assert bash.purl == "pkg:rpm/azurelinux/bash@5.2.32-1.azl4?arch=x86_64&distro=azurelinux-4.0"
    assert bash.supplier == "Microsoft"
    assert bash.cpe == "cpe:2.3:a:gnu:bash:5.2.32:*:*:*:*:*:*:*"
    assert bash.hashes == (
        ("sha256", "4cfed027c112894a8742eab76cd1003801d01b0cd2f26be4cf9f7a3a46e62223"),
    )
    assert bash.licenses == ("GPL-3.0-or-later",)
    assert bash.bom_ref == "SPDXRef-Package-bash"
    assert tzdata.purl == "pkg:generic/tzdata@2024a"  # NOASSERTION is no licence
    assert tzdata.licenses == ()
    assert "line 28: component 'tzdata' has no valid purl; using pkg:generic/tzdata@2024a" in (
        result.warnings
    )
    assert result.created_at == datetime(2026, 11, 2, 8, 30, 0, 123456, tzinfo=UTC)
    assert result.subject == "bash 5.2.32-1.azl4"
    assert result.ntia["dependencies"] == result.ntia["author"] == 1.0


@pytest.mark.parametrize(
    "name",
    [
        "spdx/spdx-tools-python_SPDXTagExample-v2.3.spdx",
        "spdx/spdx-tools-python_SPDXTagExample-v2.2.spdx",
        "spdx/spdx-tools-python_SPDXLite.spdx",
        "spdx/spdx-examples_example6-bin.spdx2.2.spdx",
    ],
)
def test_lenient_tag_value_reader_agrees_with_spdx_tools(fixtures_dir: Path, name: str) -> None:
    text = (fixtures_dir / name).read_text()
    through_spdx_tools = sbom_parse(text.encode())
    assert through_spdx_tools.schema_valid is True  # so spdx-tools did read it

    lenient = spdx2_read(
        tag_value_dict(text),
        limits=Limits(),
        encoding="tag-value",
        findings=Findings(),
        schema_valid=None,
    )
    assert lenient.components == through_spdx_tools.components
    assert lenient.created_at == through_spdx_tools.created_at
    assert lenient.subject == through_spdx_tools.subject
    assert lenient.ntia == through_spdx_tools.ntia


def test_rdf_xml_written_by_spdx_tools_is_read(fixtures_dir: Path, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.writer.rdf.rdf_writer import write_document_to_file

    source = fixtures_dir / "spdx" / "spdx-tools-python_SPDXJSONExample-v2.3.spdx.json"
    rdf = tmp_path / "example.rdf.xml"
    write_document_to_file(parse_file(str(source)), str(rdf), validate=False)

    result = sbom_parse(rdf.read_bytes())
    from_json = sbom_parse(source.read_bytes())
    assert (result.format, result.encoding, result.spec_version) == ("spdx", "rdf", "2.3")
    assert sorted(c.purl for c in result.components) == sorted(c.purl for c in from_json.components)
    assert result.created_at == from_json.created_at


def test_rdf_with_a_doctype_is_refused_before_rdflib_sees_it() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns:spdx="http://spdx.org/rdf/terms#"/>'
    )
    with pytest.raises(SbomParseError, match="DOCTYPE"):
        sbom_parse(data)


def test_yaml_numbers_are_read_as_strings_with_a_warning() -> None:
    result = sbom_parse((GOOD / "small.spdx.yaml").read_bytes())

    assert result.components[0].purl == "pkg:pypi/pyyaml@6.0"
    assert "$.packages[0].versionInfo: 6.0 is a number, read as '6.0'" in result.warnings
    assert result.ntia["version"] == 1.0


def test_external_ref_category_spellings_and_cpe22() -> None:
    entry = package("zlib", "1.3")
    entry["externalRefs"] = [
        {
            "referenceCategory": "SECURITY",
            "referenceType": "cpe22Type",
            "referenceLocator": "cpe:/a:zlib:zlib:1.3",
        },
        {
            "referenceCategory": "PACKAGE_MANAGER",
            "referenceType": "purl",
            "referenceLocator": "pkg:generic/zlib@1.3",
        },
    ]
    (zlib,) = sbom_parse(spdx_json([entry])).components
    assert (zlib.purl, zlib.cpe) == ("pkg:generic/zlib@1.3", "cpe:/a:zlib:zlib:1.3")


def test_files_are_not_components_and_relationships_give_subject_and_dependencies() -> None:
    data = spdx_json(
        [package("app", "1.0", "pkg:npm/app@1.0"), package("lib", "2.0", "pkg:npm/lib@2.0")],
        files=[{"SPDXID": "SPDXRef-f", "fileName": "/a", "checksums": []}],
        relationships=[
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-app",
            },
            {
                "spdxElementId": "SPDXRef-lib",
                "relationshipType": "DEPENDENCY_OF",
                "relatedSpdxElement": "SPDXRef-app",
            },
        ],
    )
    result = sbom_parse(data)
    assert result.component_count == 2
    assert result.subject == "app 1.0"
    assert result.ntia["dependencies"] == 1.0


def test_spdx_tools_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    data = spdx_json([package("a", "1", "pkg:npm/a@1"), package("b", "2", "pkg:npm/b@2")])

    monkeypatch.setattr(bridge, "MAX_PACKAGES", 1)
    skipped = sbom_parse(data)
    assert skipped.schema_valid is None
    assert "spdx-tools: not checked: 2 packages is over the budget of 1" in skipped.warnings
    assert skipped.component_count == 2

    monkeypatch.setattr(bridge, "MAX_PACKAGES", 10)
    monkeypatch.setattr(bridge, "FULL_VALIDATION_BUDGET", 0)
    one_by_one = sbom_parse(data)
    assert any("validated one by one" in warning for warning in one_by_one.warnings)
    assert one_by_one.component_count == 2


def test_spdx_tools_crashing_on_odd_structure_is_a_warning() -> None:
    data = spdx_json([package("a", "1", "pkg:npm/a@1")], creationInfo="yesterday")
    result = sbom_parse(data)
    assert result.component_count == 1
    assert result.schema_valid is False
    assert any("could not read the document" in warning for warning in result.warnings)
    assert "$.creationInfo.created: no creation time; the upload time will be used" in (
        result.warnings
    )


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Organization: Red Hat (secalert@redhat.com)", "Red Hat"),
        ("Person: Jane Doe ()", "Jane Doe"),
        ("Tool: trivy-dev", "trivy-dev"),
        ("NOASSERTION", ""),
        ("ACME Corp", "ACME Corp"),
    ],
)
def test_actor_names(written: str, name: str) -> None:
    assert actor_name(written) == name


def test_spdx_3_package_fields() -> None:
    result = sbom_parse((GOOD / "small.spdx3.json").read_bytes())

    assert (result.format, result.encoding, result.spec_version) == ("spdx", "json-ld", "3.0")
    curl, libcurl = result.components
    assert curl.purl == "pkg:rpm/azurelinux/curl@8.11.0-1.azl4?arch=x86_64&distro=azurelinux-4.0"
    assert curl.cpe == "cpe:2.3:a:haxx:curl:8.11.0:*:*:*:*:*:*:*"
    assert curl.hashes == (("sha3-256", "ab" * 32),)
    assert curl.licenses == ("curl",)
    assert curl.supplier == "Microsoft"
    assert curl.bom_ref == "https://example.test/spdx3/small/curl"
    assert libcurl.purl == "pkg:rpm/azurelinux/libcurl@8.11.0-1.azl4?arch=x86_64"
    assert result.subject == "curl 8.11.0-1.azl4"
    assert result.created_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert result.ntia["dependencies"] == result.ntia["author"] == 1.0
    assert result.warnings == [
        "elements of type ai_AIPackage are not counted as components (only software_Package is)"
    ]
