"""SPDX 2.2 and 2.3 documents, read from their JSON-like dict form whatever the encoding.

JSON, YAML and XML documents are read from the dict their parser gives; tag-value and RDF/XML
documents from the dict spdx-tools' converter makes of its model (or, for tag-value that
spdx-tools cannot read, from the lenient reader's dict). The extraction here does not depend on
spdx-tools accepting the document: real documents (Trivy's, for one) often fail its strict
checks, and those checks are reported as warnings instead (see spdx_tools_bridge).

Counting rule: every package; files and snippets are not components.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

from evidence.sbom.components import ComponentBuilder, licence_expression
from evidence.sbom.dates import created_at
from evidence.sbom.findings import Findings
from evidence.sbom.jsondoc import json_type
from evidence.sbom.model import Limits, ParsedSbom, SbomParseError
from evidence.sbom.ntia import ntia_coverage

SUPPORTED_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
_ACTOR = re.compile(r"\s*(?:Organization|Person|Tool)\s*:\s*(.*?)\s*(?:\([^()]*\))?\s*$")
_NOT_STATED = frozenset({"", "NOASSERTION"})
_DEPENDENCY_TYPES = frozenset(
    {"CONTAINS", "CONTAINED_BY", "DYNAMIC_LINK", "STATIC_LINK", "HAS_PREREQUISITE",
     "PREREQUISITE_FOR"}
)  # fmt: skip

Locate = Callable[[int, dict[str, Any]], str]
_TAGS = {
    "spdxVersion": "SPDXVersion",
    "packages": "PackageName",
    "name": "DocumentName",
    "creationInfo.created": "Created",
}


def _path(encoding: str, key: str) -> str:
    """Where the document-level `key` is, in the notation of the encoding."""
    if encoding == "xml":
        return "/Document/" + key.replace(".", "/")
    if encoding in ("tag-value", "rdf"):
        return f"the {_TAGS.get(key, key)} tag" if encoding == "tag-value" else f"spdx:{key}"
    return f"$.{key}"


def as_list(value: Any) -> list[Any]:
    """A list as it is; one element (XML and tag-value give single items bare) as a list of
    one; nothing as an empty list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def actor_name(value: str) -> str:
    """'Organization: Red Hat (secalert@redhat.com)' -> 'Red Hat'; NOASSERTION -> ''."""
    if value.strip() in _NOT_STATED:
        return ""
    match = _ACTOR.match(value)
    return match.group(1) if match else value.strip()


def version_check(version: object, *, where: str) -> str:
    """'2.3' for 'SPDX-2.3'; SbomParseError naming the supported versions otherwise."""
    if isinstance(version, str) and version.strip() in SUPPORTED_VERSIONS:
        return version.strip().removeprefix("SPDX-")
    shown = repr(version) if isinstance(version, str) else json_type(version)
    raise SbomParseError(
        f"unsupported SPDX version {shown}: supported are {', '.join(SUPPORTED_VERSIONS)} "
        "(and SPDX 3.0 as JSON-LD)",
        location=where,
    )


class _Fields:
    """String fields of one package, with numbers accepted (YAML writes unquoted versions)."""

    def __init__(self, entry: dict[str, Any], where: str, findings: Findings) -> None:
        self.entry = entry
        self.where = where
        self.findings = findings

    def text(self, key: str) -> str:
        value = self.entry.get(key)
        if isinstance(value, str):
            return value.strip()
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.findings.add(
                "document", f"{self.where}.{key}: {value!r} is a number, read as {str(value)!r}"
            )
            return str(value)
        raise SbomParseError(
            f"'{key}' must be a string, not {json_type(value)}", location=f"{self.where}.{key}"
        )


def _refs(entry: dict[str, Any]) -> tuple[str, str]:
    """The first purl and the first CPE (2.3 preferred) among the package's external refs."""
    purl = cpe23 = cpe22 = ""
    for ref in as_list(entry.get("externalRefs")):
        if not isinstance(ref, dict):
            continue
        kind, locator = ref.get("referenceType"), ref.get("referenceLocator")
        if not isinstance(kind, str) or not isinstance(locator, str):
            continue
        kind = kind.strip()
        if kind == "purl" and not purl:
            purl = locator.strip()
        elif kind == "cpe23Type" and not cpe23:
            cpe23 = locator.strip()
        elif kind == "cpe22Type" and not cpe22:
            cpe22 = locator.strip()
    return purl, cpe23 or cpe22


def _hashes(entry: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for checksum in as_list(entry.get("checksums")):
        if isinstance(checksum, dict):
            alg, value = checksum.get("algorithm"), checksum.get("checksumValue")
            if isinstance(alg, str) and isinstance(value, str):
                yield alg, value


def _licenses(entry: dict[str, Any]) -> tuple[str, ...]:
    found = []
    for key in ("licenseConcluded", "licenseDeclared"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip() not in _NOT_STATED:
            found.append(licence_expression(value))
    return tuple(dict.fromkeys(found))


def _packages(
    packages: list[Any], builder: ComponentBuilder, findings: Findings, locate: Locate
) -> dict[str, str]:
    """Add every package; returns SPDXID -> 'name version' for naming the subject."""
    names: dict[str, str] = {}
    for index, entry in enumerate(packages):
        if not isinstance(entry, dict):
            raise SbomParseError(
                f"a package must be an object, not {json_type(entry)}",
                location=locate(index, {}),
            )
        where = locate(index, entry)
        fields = _Fields(entry, where, findings)
        name, version, ref = fields.text("name"), fields.text("versionInfo"), fields.text("SPDXID")
        purl, cpe = _refs(entry)
        builder.add(
            where=where,
            purl=purl,
            name=name,
            version=version,
            cpe=cpe,
            hashes=builder.hashes(_hashes(entry), where=where),
            licenses=_licenses(entry),
            supplier=actor_name(fields.text("supplier")),
            ref=ref,
        )
        if ref:
            names.setdefault(ref, f"{name} {version}".strip())
    return names


def _locate_by_index(encoding: str) -> Locate:
    if encoding == "xml":
        return lambda index, _entry: f"/Document/packages[{index + 1}]"
    if encoding in ("json", "yaml"):
        return lambda index, _entry: f"$.packages[{index}]"

    def by_id(index: int, entry: dict[str, Any]) -> str:
        ref = entry.get("SPDXID")
        return f"package {index + 1}" + (f" ({ref})" if isinstance(ref, str) else "")

    return by_id


def _relationships(doc: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for relationship in as_list(doc.get("relationships")):
        if isinstance(relationship, dict):
            source = relationship.get("spdxElementId")
            kind = relationship.get("relationshipType")
            target = relationship.get("relatedSpdxElement")
            if isinstance(source, str) and isinstance(kind, str) and isinstance(target, str):
                yield source.strip(), kind.strip().upper(), target.strip()


def spdx2_read(
    doc: dict[str, Any],
    *,
    limits: Limits,
    encoding: str,
    findings: Findings,
    schema_valid: bool | None,
    locate: Locate | None = None,
) -> ParsedSbom:
    """Read the components and document facts of an SPDX 2 document in its dict form."""
    spec_version = version_check(doc.get("spdxVersion"), where=_path(encoding, "spdxVersion"))
    packages = doc.get("packages")
    if packages is not None and not isinstance(packages, list | dict):
        raise SbomParseError(
            f"'packages' must be an array, not {json_type(packages)}",
            location=_path(encoding, "packages"),
        )
    if locate is None:
        locate = _locate_by_index(encoding)
    builder = ComponentBuilder(limits=limits, findings=findings)
    names = _packages(as_list(packages), builder, findings, locate)

    document_id = doc.get("SPDXID")
    if not isinstance(document_id, str):
        document_id = "SPDXRef-DOCUMENT"
    described = [value for value in as_list(doc.get("documentDescribes")) if isinstance(value, str)]
    dependencies = False
    for source, kind, target in _relationships(doc):
        if kind == "DESCRIBES" and source == document_id:
            described.append(target)
        elif kind == "DESCRIBED_BY" and target == document_id:
            described.append(source)
        elif "DEPEND" in kind or kind in _DEPENDENCY_TYPES:
            dependencies = True
    name = doc.get("name")
    document_name = name.strip() if isinstance(name, str) else ""
    subject = next((names[ref] for ref in described if names.get(ref)), document_name)
    builder.check_length(subject, what="document name", where=_path(encoding, "name"))

    creation = doc.get("creationInfo")
    if not isinstance(creation, dict):
        creation = {}
    created = created_at(
        creation.get("created"),
        where=_path(encoding, "creationInfo.created"),
        findings=findings,
    )
    if not builder.components:
        findings.add("document", "the document lists no packages")
    return ParsedSbom(
        format="spdx",
        spec_version=spec_version,
        encoding=encoding,
        components=builder.components,
        component_count=len(builder.components),
        created_at=created,
        warnings=findings.as_list(),
        schema_valid=schema_valid,
        ntia=ntia_coverage(
            builder.tally,
            dependencies=dependencies,
            author=bool(as_list(creation.get("creators"))),
            timestamp=created is not None,
        ),
        subject=subject,
    )


def xml_to_dict(element: ET.Element, list_fields: frozenset[str]) -> Any:
    """An SPDX XML element as the dict the JSON form has: child elements become keys, repeated
    or list-like ones lists, leaves their text. Depth is bounded by the XML parse."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        key = child.tag.rpartition("}")[2] if isinstance(child.tag, str) else ""
        value = xml_to_dict(child, list_fields)
        if key in out:
            existing = out[key]
            out[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        elif key in list_fields:
            out[key] = [value]
        else:
            out[key] = value
    return out
