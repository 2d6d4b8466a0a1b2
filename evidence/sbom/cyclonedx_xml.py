"""CycloneDX XML documents (spec 1.2 to 1.7), read from a tree defusedxml built.

Same counting rule and the same component fields as the JSON reader, so that a BOM gives the
same components in either encoding. Locations are element paths such as
/bom/components/component[3]/name (1-based, as in XPath).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from evidence.sbom.components import ComponentBuilder, licence_expression
from evidence.sbom.cyclonedx import (
    cyclonedx_result,
    spec_version_check,
    subject_of,
    vex_only_error,
)
from evidence.sbom.dates import created_at
from evidence.sbom.findings import Findings
from evidence.sbom.model import Limits, ParsedSbom, SbomParseError
from evidence.sbom.schemas import xml_schema_check
from evidence.sbom.xmldoc import local_name, lxml_tree, namespace_of

NAMESPACE_PREFIX = "http://cyclonedx.org/schema/bom/"


class _Reader:
    """Element lookups in one CycloneDX namespace."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{{{namespace}}}"

    def children(self, element: ET.Element | None, name: str) -> list[ET.Element]:
        if element is None:
            return []
        return element.findall(self.prefix + name)

    def child(self, element: ET.Element | None, name: str) -> ET.Element | None:
        return None if element is None else element.find(self.prefix + name)

    def fields(self, element: ET.Element) -> dict[str, ET.Element]:
        """The element's children in this namespace by local name (first of each)."""
        prefix = self.prefix
        out: dict[str, ET.Element] = {}
        for child in element:
            tag = child.tag
            if isinstance(tag, str) and tag.startswith(prefix):
                out.setdefault(tag[len(prefix) :], child)
        return out


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _hashes(reader: _Reader, element: ET.Element | None) -> Iterator[tuple[str, str]]:
    for item in reader.children(element, "hash"):
        alg = item.get("alg")
        if alg:
            yield alg, _text(item)


def _licenses(reader: _Reader, element: ET.Element | None) -> tuple[str, ...]:
    found: list[str] = []
    if element is not None:
        for item in element:
            name = local_name(item.tag) if isinstance(item.tag, str) else ""
            if name == "expression":
                found.append(licence_expression(_text(item)))
            elif name == "license":
                value = _text(reader.child(item, "id")) or _text(reader.child(item, "name"))
                found.append(value)
    return tuple(dict.fromkeys(value for value in found if value))


def _add(reader: _Reader, element: ET.Element, where: str, builder: ComponentBuilder) -> None:
    fields = reader.fields(element)
    supplier = _text(reader.child(fields.get("supplier"), "name")) or _text(fields.get("publisher"))
    builder.add(
        where=where,
        purl=_text(fields.get("purl")),
        name=_text(fields.get("name")),
        version=_text(fields.get("version")),
        namespace=_text(fields.get("group")),
        cpe=_text(fields.get("cpe")),
        hashes=builder.hashes(_hashes(reader, fields.get("hashes")), where=where),
        licenses=_licenses(reader, fields.get("licenses")),
        supplier=supplier,
        ref=(element.get("bom-ref") or "").strip(),
    )


def _walk(
    reader: _Reader, components: ET.Element, builder: ComponentBuilder, limits: Limits
) -> None:
    """Pre-order walk of <components> and the <components> nested in each component."""
    start = reader.children(components, "component")
    stack: list[tuple[Iterator[tuple[int, ET.Element]], str]] = [
        (iter(enumerate(start, start=1)), "/bom/components")
    ]
    while stack:
        items, parent = stack[-1]
        for index, element in items:
            where = f"{parent}/component[{index}]"
            _add(reader, element, where, builder)
            nested = reader.children(reader.child(element, "components"), "component")
            if nested:
                if len(stack) >= limits.max_depth:
                    raise SbomParseError(
                        f"components nested deeper than {limits.max_depth} levels (max_depth)",
                        location=f"{where}/components",
                    )
                stack.append((iter(enumerate(nested, start=1)), f"{where}/components"))
                break
        else:
            stack.pop()


def _author(reader: _Reader, metadata: ET.Element | None) -> bool:
    tools = reader.child(metadata, "tools")
    return bool(
        reader.children(reader.child(metadata, "authors"), "author")
        or (tools is not None and len(tools) > 0)
        or reader.child(metadata, "manufacture") is not None
        or reader.child(metadata, "manufacturer") is not None
    )


def cyclonedx_xml(root: ET.Element, *, limits: Limits) -> ParsedSbom:
    """Read a CycloneDX XML document from its (defused) root element."""
    namespace = namespace_of(root.tag)
    if local_name(root.tag) != "bom" or not namespace.startswith(NAMESPACE_PREFIX):
        raise SbomParseError(
            f"not a CycloneDX document: the root element is {root.tag!r}", location="/"
        )
    spec_version = spec_version_check(
        namespace[len(NAMESPACE_PREFIX) :], where=f"/bom (xmlns {namespace})"
    )
    reader = _Reader(namespace)
    components = reader.child(root, "components")
    vulnerabilities = reader.children(reader.child(root, "vulnerabilities"), "vulnerability")
    if not reader.children(components, "component") and vulnerabilities:
        raise vex_only_error(len(vulnerabilities), where="/bom/vulnerabilities")

    findings = Findings()
    schema_valid = xml_schema_check(lxml_tree(root), spec_version, findings)
    builder = ComponentBuilder(limits=limits, findings=findings)
    metadata = reader.child(root, "metadata")
    subject = ""
    described = reader.child(metadata, "component")
    if described is not None:
        where = "/bom/metadata/component"
        subject = subject_of(
            _text(reader.child(described, "name")), _text(reader.child(described, "version"))
        )
        builder.check_length(subject, what="name of the described component", where=where)
        ref = (described.get("bom-ref") or "").strip()
        if ref:
            builder.note_ref(ref, where=where)
    if components is not None:
        _walk(reader, components, builder, limits)

    dependencies = reader.children(reader.child(root, "dependencies"), "dependency")
    return cyclonedx_result(
        spec_version=spec_version,
        encoding="xml",
        builder=builder,
        findings=findings,
        created=created_at(
            _text(reader.child(metadata, "timestamp")) or None,
            where="/bom/metadata/timestamp",
            findings=findings,
        ),
        schema_valid=schema_valid,
        subject=subject,
        dependencies=bool(dependencies),
        author=_author(reader, metadata),
    )
