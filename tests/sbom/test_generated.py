"""SBOMs made by real SBOM tools (cyclonedx-py, distro2sbom, sbom4python; see
../data/sbom-generated/README.md): the detected format, the exact component count (counted here
independently of the parser), canonical purls of the expected type, a few pinned components,
and the warnings the parser gives for each tool's known quirks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from lxml import etree
from packageurl import PackageURL

from evidence.sbom import Component, ParsedSbom, sbom_parse
from tests.conftest import DATA, FIXTURES

GENERATED = DATA / "sbom-generated"
RPM_QA = FIXTURES / "fedora-pkglist" / "fedora40_monogon-sandboxroot_rpm-qa.txt"

# The one warning the parser gives for distro2sbom's operating-system component (no purl).
NO_PURL_FEDORA = "component 'fedora' has no valid purl; using pkg:generic/fedora@40"
# lib4sbom writes `licenseListVersion: 3.28.0`; SPDX 2.3 wants "M.N", so spdx-tools refuses
# the document while the packages are still read.
LICENSE_LIST_VERSION = "3.28.0 is not a valid version string"


@dataclass(frozen=True)
class Expected:
    detail: str  # "format/encoding/spec version"
    count: int  # component count under the project's counting rule
    purl_prefix: str  # every component's purl but the operating system's starts so
    warnings: tuple[str, ...] = ()  # each warning contains one of these, and each is seen
    schema_valid: bool | None = True
    generic: int = 0  # components without a purl (the operating system), given pkg:generic


EXPECTED: dict[str, Expected] = {
    # cyclonedx-py 7.5.0 `environment` of the scratch venv: 58 packages, no metadata.component.
    "cdx-py_sbomgen-venv.cdx1.4.json": Expected("cyclonedx/json/1.4", 58, "pkg:pypi/"),
    "cdx-py_sbomgen-venv.cdx1.5.xml": Expected("cyclonedx/xml/1.5", 58, "pkg:pypi/"),
    "cdx-py_sbomgen-venv.cdx1.6.json": Expected("cyclonedx/json/1.6", 58, "pkg:pypi/"),
    # distro2sbom 0.6.0 from the 469-line rpm -qa list, plus the 'fedora' 40 OS component.
    "distro2sbom_fedora40.cdx1.6.json": Expected(
        "cyclonedx/json/1.6", 470, "pkg:rpm/fedora/", (NO_PURL_FEDORA,), generic=1
    ),
    # The same run without LIB4SBOM_CYCLONEDX_VERSION: lib4sbom's default, CycloneDX 1.7.
    "distro2sbom_fedora40_default.cdx1.7.json": Expected(
        "cyclonedx/json/1.7", 470, "pkg:rpm/fedora/", (NO_PURL_FEDORA,), generic=1
    ),
    "distro2sbom_fedora40.spdx2.3.json": Expected(
        "spdx/json/2.3",
        470,
        "pkg:rpm/fedora/",
        (LICENSE_LIST_VERSION, NO_PURL_FEDORA),
        schema_valid=False,
        generic=1,
    ),
    "distro2sbom_fedora40.spdx2.3.spdx": Expected(
        "spdx/tag-value/2.3",
        470,
        "pkg:rpm/fedora/",
        (LICENSE_LIST_VERSION, NO_PURL_FEDORA),
        schema_valid=False,
        generic=1,
    ),
    # distro2sbom --system on this Debian 12 machine: 922 dpkg packages + the OS component.
    "distro2sbom_this-debian-system.cdx1.6.json": Expected(
        "cyclonedx/json/1.6",
        923,
        "pkg:deb/debian/",
        ("component 'debian-gnu/linux' has no valid purl",),
        generic=1,
    ),
    # sbom4python 0.12.6: a package and its dependencies; files are not counted.
    "sbom4python_cyclonedx-python-lib.spdx2.3.json": Expected(
        "spdx/json/2.3", 7, "pkg:pypi/", (LICENSE_LIST_VERSION,), schema_valid=False
    ),
    "sbom4python_spdx-tools.spdx2.3.spdx": Expected(
        "spdx/tag-value/2.3", 11, "pkg:pypi/", (LICENSE_LIST_VERSION,), schema_valid=False
    ),
}

NAMES = sorted(EXPECTED)


@cache
def parsed(name: str) -> ParsedSbom:
    return sbom_parse((GENERATED / name).read_bytes())


def by_name(result: ParsedSbom, name: str) -> Component:
    return next(component for component in result.components if component.name == name)


def canonical(purl: str) -> str:
    return PackageURL.from_string(purl).to_string()


def _cdx_json_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for component in components:
        found.append(component)
        found.extend(_cdx_json_components(component.get("components", [])))
    return found


def _cdx_xml_components(parent: Any, ns: str) -> list[Any]:
    found: list[Any] = []
    for component in parent.findall(f"{{{ns}}}component"):
        found.append(component)
        nested = component.find(f"{{{ns}}}components")
        if nested is not None:
            found.extend(_cdx_xml_components(nested, ns))
    return found


def document_purls(name: str) -> list[str | None]:
    """Each counted component's purl as the document writes it (None when it has none), read
    without the parser: every CycloneDX component at any depth under `components` (not
    metadata.component), every SPDX package (not files or snippets)."""
    data = (GENERATED / name).read_bytes()
    if name.endswith(".xml"):
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        ns = etree.QName(root).namespace
        top = root.find(f"{{{ns}}}components")
        return [
            c.findtext(f"{{{ns}}}purl")
            for c in ([] if top is None else _cdx_xml_components(top, ns))
        ]
    if name.endswith(".json"):
        doc = json.loads(data)
        if "bomFormat" in doc:
            return [c.get("purl") for c in _cdx_json_components(doc.get("components", []))]
        return [
            next(
                (
                    r["referenceLocator"]
                    for r in p.get("externalRefs", [])
                    if r["referenceType"] == "purl"
                ),
                None,
            )
            for p in doc["packages"]
        ]
    # SPDX tag-value: a package starts at each PackageName line.
    purls: list[str | None] = []
    for line in data.decode().splitlines():
        if line.startswith("PackageName:"):
            purls.append(None)
        elif line.startswith("ExternalRef: PACKAGE-MANAGER purl ") and purls:
            purls[-1] = line.split()[-1]
    return purls


def test_the_table_names_every_generated_file() -> None:
    on_disk = {path.name for path in GENERATED.iterdir() if path.name != "README.md"}
    assert on_disk == set(EXPECTED)


def test_the_fedora_files_have_one_component_per_rpm_qa_line_and_the_os() -> None:
    if not RPM_QA.is_file():
        pytest.skip(f"shared fixtures not found at {RPM_QA.parent}")
    lines = [line for line in RPM_QA.read_text().splitlines() if line.strip()]
    for name in NAMES:
        if name.startswith("distro2sbom_fedora40"):
            assert len(document_purls(name)) == len(lines) + 1 == EXPECTED[name].count, name


@pytest.mark.parametrize("name", NAMES)
def test_generated_sbom_format_count_and_warnings(name: str) -> None:
    expected = EXPECTED[name]
    result = parsed(name)

    assert f"{result.format}/{result.encoding}/{result.spec_version}" == expected.detail
    assert len(document_purls(name)) == expected.count
    assert result.component_count == expected.count == len(result.components)
    assert result.schema_valid is expected.schema_valid
    for warning in result.warnings:
        assert any(known in warning for known in expected.warnings), warning
    for known in expected.warnings:
        assert any(known in warning for warning in result.warnings), known
    assert result.created_at is not None


@pytest.mark.parametrize("name", NAMES)
def test_generated_sbom_purls_are_canonical_and_of_the_expected_type(name: str) -> None:
    expected = EXPECTED[name]
    result = parsed(name)

    purls = [component.purl for component in result.components]
    # packageurl-python's round trip drops the %2F of a '/' inside a name; those are checked
    # by test_distro2sbom_debian_os_component_keeps_its_name.
    assert all(purl == canonical(purl) for purl in purls if "%2F" not in purl)
    typed = [purl for purl in purls if purl.startswith(expected.purl_prefix)]
    generic = [purl for purl in purls if purl.startswith("pkg:generic/")]
    assert (len(typed), len(generic)) == (expected.count - expected.generic, expected.generic)
    # The parser's purls are the document's, canonicalised (e.g. distro2sbom's raw '+').
    written = [purl for purl in document_purls(name) if purl is not None]
    assert sorted(typed) == sorted(canonical(purl) for purl in written)
    for component in result.components:
        if component.type != "generic":
            parts = PackageURL.from_string(component.purl)
            assert (component.type, component.name) == (parts.type, parts.name)
            assert component.version == parts.version


def test_cyclonedx_py_json_and_xml_and_versions_agree() -> None:
    results = [parsed(name) for name in NAMES if name.startswith("cdx-py_")]

    assert results[0].components == results[1].components == results[2].components
    yaml = by_name(results[2], "pyyaml")
    # cyclonedx-py writes the distribution's name as "PyYAML"; the purl normalises it.
    assert (yaml.purl, yaml.bom_ref) == ("pkg:pypi/pyyaml@6.0.4", "PyYAML==6.0.4")
    assert by_name(results[2], "cyclonedx-python-lib").version == "11.12.0"
    assert by_name(results[2], "typing-extensions").purl == "pkg:pypi/typing-extensions@4.16.0"
    # --output-reproducible with SOURCE_DATE_EPOCH=1735689600.
    assert all(str(result.created_at) == "2025-01-01 00:00:00+00:00" for result in results)
    assert all(result.subject == "" for result in results)  # no metadata.component


@pytest.mark.parametrize("name", [name for name in NAMES if name.startswith("distro2sbom_fedora")])
def test_distro2sbom_fedora_rpm_fields_and_quirks(name: str) -> None:
    result = parsed(name)

    bash = by_name(result, "bash")
    assert bash.purl == "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&distro=fedora"
    assert (bash.namespace, bash.version, bash.release, bash.arch) == (
        "fedora",
        "5.2.26-3.fc40",
        "3.fc40",
        "x86_64",
    )
    # A distro qualifier without a release is accepted as it is, without a warning.
    assert bash.distro == "fedora"
    # The raw '+' that distro2sbom leaves in 'gcc-c++' is percent-encoded, the name kept.
    gcc = by_name(result, "gcc-c++")
    assert gcc.purl == "pkg:rpm/fedora/gcc-c%2B%2B@14.2.1-3.fc40?arch=x86_64&distro=fedora"
    assert (gcc.release, gcc.arch) == ("3.fc40", "x86_64")
    # distro2sbom lower-cases names (perl-Text-Tabs+Wrap) and has no epoch to give: `rpm -qa`
    # prints none (dbus is 1:1.14.10-3.fc40 in the NEVRA list). The parser keeps what it reads.
    tabs = by_name(result, "perl-text-tabs+wrap")
    assert (tabs.purl, tabs.arch) == (
        "pkg:rpm/fedora/perl-text-tabs%2Bwrap@2024.001-1.fc40?arch=noarch&distro=fedora",
        "noarch",
    )
    assert by_name(result, "dbus").epoch == ""
    # The operating system itself has no purl and gets a generic one.
    assert by_name(result, "fedora").purl == "pkg:generic/fedora@40"


def test_distro2sbom_cyclonedx_1_7_is_read_like_1_6() -> None:
    default = parsed("distro2sbom_fedora40_default.cdx1.7.json")
    pinned = parsed("distro2sbom_fedora40.cdx1.6.json")

    assert (default.spec_version, default.schema_valid) == ("1.7", True)
    assert default.components == pinned.components
    assert not any("1.7" in warning for warning in default.warnings)


def test_distro2sbom_fedora_spdx_json_and_tag_value_agree_with_cyclonedx() -> None:
    cdx = parsed("distro2sbom_fedora40.cdx1.6.json")
    spdx_json = parsed("distro2sbom_fedora40.spdx2.3.json")
    tag_value = parsed("distro2sbom_fedora40.spdx2.3.spdx")

    assert [c.purl for c in spdx_json.components] == [c.purl for c in cdx.components]
    assert spdx_json.components == tag_value.components
    assert spdx_json.subject == tag_value.subject == "fedora 40"


def test_distro2sbom_debian_deb_fields() -> None:
    result = parsed("distro2sbom_this-debian-system.cdx1.6.json")

    passwd = by_name(result, "passwd")
    assert passwd.purl == (
        "pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1%2Bdeb12u1?arch=amd64&distro=bookworm"
    )
    assert (passwd.version, passwd.epoch, passwd.release) == (
        "1:4.13+dfsg1-1+deb12u1",
        "1",
        "1+deb12u1",
    )
    assert (passwd.arch, passwd.distro, passwd.supplier) == (
        "amd64",
        "bookworm",
        "Shadow package maintainers",
    )
    adduser = by_name(result, "adduser")
    assert (adduser.version, adduser.epoch, adduser.release, adduser.arch) == (
        "3.134",
        "",
        "",
        "all",
    )
    assert adduser.licenses == ("GPL-2.0-or-later",)
    libstdcxx = by_name(result, "libstdc++6")
    assert libstdcxx.purl.startswith("pkg:deb/debian/libstdc%2B%2B6@")
    assert all(re.fullmatch(r"\d+", c.epoch) for c in result.components if ":" in c.version)


def test_distro2sbom_debian_os_component_keeps_its_name() -> None:
    result = parsed("distro2sbom_this-debian-system.cdx1.6.json")

    os_component = next(c for c in result.components if c.type == "generic")
    assert (os_component.name, os_component.namespace, os_component.version) == (
        "debian-gnu/linux",
        "",
        "12",
    )
    assert os_component.purl == "pkg:generic/debian-gnu%2Flinux@12"


def test_sbom4python_packages_and_files() -> None:
    lib = parsed("sbom4python_cyclonedx-python-lib.spdx2.3.json")
    tools = parsed("sbom4python_spdx-tools.spdx2.3.spdx")

    assert lib.subject == "cyclonedx-python-lib 11.12.0"
    assert [c.name for c in lib.components] == [
        "cyclonedx-python-lib",
        "license-expression",
        "packageurl-python",
        "py-serializable",
        "defusedxml",
        "sortedcontainers",
        "typing-extensions",
    ]
    first = lib.components[0]
    assert (first.licenses, first.supplier) == (("Apache-2.0",), "Paul Horton")
    # The tag-value document has a FileName (pyyaml's _yaml .so) that is not a component.
    assert (
        b"\nFileName: ./_yaml.cpython-311"
        in (GENERATED / "sbom4python_spdx-tools.spdx2.3.spdx").read_bytes()
    )
    assert tools.subject == "spdx-tools 0.8.5"
    assert by_name(tools, "pyyaml").purl == "pkg:pypi/pyyaml@6.0.4"
    assert by_name(tools, "rdflib").version == "7.6.0"
