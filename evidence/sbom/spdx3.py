"""SPDX 3.0 documents in their JSON-LD serialisation (`@context` + `@graph`).

Counting rule: every element of type `software_Package` in `@graph`, in graph order. Other
element types (files, relationships, AI and dataset packages, types from profiles not known
here) are read only for what they say about packages, or skipped.

Read per package: name, software_packageVersion, software_packageUrl (else an
externalIdentifier of type packageUrl), externalIdentifier cpe23/cpe22, verifiedUsing hashes,
suppliedBy (the Organization's or Person's name), and the licence expressions its
hasConcludedLicense / hasDeclaredLicense relationships point at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from evidence.sbom.components import ComponentBuilder, licence_expression
from evidence.sbom.dates import created_at
from evidence.sbom.findings import Findings
from evidence.sbom.jsondoc import json_type
from evidence.sbom.model import Limits, ParsedSbom, SbomParseError
from evidence.sbom.ntia import ntia_coverage

CONTEXT_PREFIX = "https://spdx.org/rdf/3."
SUPPORTED_VERSIONS = ("3.0",)
PACKAGE = "software_Package"
_PACKAGE_LIKE = ("Package",)  # ai_AIPackage, dataset_DatasetPackage: noted, not counted
_LICENCE_RELATIONSHIPS = frozenset({"hasConcludedLicense", "hasDeclaredLicense"})
_DEPENDENCY_WORDS = ("depend", "contains", "link", "prerequisite")


def is_spdx3(doc: dict[str, Any]) -> bool:
    """Whether a JSON object is an SPDX 3 JSON-LD document (by its @context)."""
    return "@graph" in doc and any(
        isinstance(context, str) and context.startswith(CONTEXT_PREFIX)
        for context in _contexts(doc.get("@context"))
    )


def _contexts(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _type(element: dict[str, Any]) -> str:
    kind = element.get("type", element.get("@type"))
    return kind if isinstance(kind, str) else ""


def _id(element: dict[str, Any]) -> str:
    ident = element.get("spdxId", element.get("@id"))
    return ident if isinstance(ident, str) else ""


def _strings(value: Any) -> list[str]:
    return [item for item in _contexts(value) if isinstance(item, str)]


def _text(element: dict[str, Any], key: str, where: str) -> str:
    value = element.get(key)
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    raise SbomParseError(f"'{key}' must be a string, not {json_type(value)}", location=where)


class _Graph:
    """The elements of @graph by id, and the relationships between them."""

    def __init__(self, graph: list[Any], findings: Findings) -> None:
        self.elements: dict[str, dict[str, Any]] = {}
        self.licences: dict[str, list[str]] = {}
        self.dependencies = False
        self.types: Counter[str] = Counter()
        for index, element in enumerate(graph):
            if not isinstance(element, dict):
                findings.add(
                    "document", f"$['@graph'][{index}]: {json_type(element)} is not an element"
                )
                continue
            kind = _type(element)
            self.types[kind] += 1
            ident = _id(element)
            if ident:
                self.elements.setdefault(ident, element)
            if kind in ("Relationship", "LifecycleScopedRelationship"):
                self._relationship(element)

    def _relationship(self, element: dict[str, Any]) -> None:
        kind = element.get("relationshipType")
        if not isinstance(kind, str):
            return
        if kind in _LICENCE_RELATIONSHIPS:
            source = element.get("from")
            if isinstance(source, str):
                self.licences.setdefault(source, []).extend(_strings(element.get("to")))
        elif any(word in kind.lower() for word in _DEPENDENCY_WORDS):
            self.dependencies = True

    def resolve(self, value: Any) -> dict[str, Any]:
        """An element given inline or by id; {} when neither."""
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            return self.elements.get(value, {})
        return {}

    def name_of(self, value: Any) -> str:
        name = self.resolve(value).get("name")
        return name.strip() if isinstance(name, str) else ""

    def licences_of(self, ident: str) -> tuple[str, ...]:
        found = []
        for target in self.licences.get(ident, ()):
            element = self.elements.get(target, {})
            expression = element.get("simplelicensing_licenseExpression") or element.get("name")
            if isinstance(expression, str) and expression.strip() not in ("", "NOASSERTION"):
                found.append(licence_expression(expression))
        return tuple(dict.fromkeys(found))


def _identifiers(element: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for item in _contexts(element.get("externalIdentifier")):
        if isinstance(item, dict):
            kind, value = item.get("externalIdentifierType"), item.get("identifier")
            if isinstance(kind, str) and isinstance(value, str):
                yield kind, value.strip()


def _hashes(element: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for item in _contexts(element.get("verifiedUsing")):
        if isinstance(item, dict) and _type(item) == "Hash":
            alg, value = item.get("algorithm"), item.get("hashValue")
            if isinstance(alg, str) and isinstance(value, str):
                yield alg, value


def _add(element: dict[str, Any], where: str, graph: _Graph, builder: ComponentBuilder) -> None:
    identifiers: dict[str, str] = {}
    for kind, value in _identifiers(element):
        identifiers.setdefault(kind, value)
    purl = _text(element, "software_packageUrl", f"{where}.software_packageUrl")
    cpe = identifiers.get("cpe23", identifiers.get("cpe22", ""))
    builder.add(
        where=where,
        purl=purl or identifiers.get("packageUrl", ""),
        name=_text(element, "name", f"{where}.name"),
        version=_text(element, "software_packageVersion", f"{where}.software_packageVersion"),
        cpe=cpe,
        hashes=builder.hashes(_hashes(element), where=where),
        licenses=graph.licences_of(_id(element)),
        supplier=graph.name_of(element.get("suppliedBy")),
        ref=_id(element),
    )


def _spec_version(graph: _Graph, document: dict[str, Any], context: Any) -> tuple[str, Any]:
    """(major.minor spec version, the document's CreationInfo)."""
    creation = graph.resolve(document.get("creationInfo"))
    if not creation:
        creation = next(
            (item for item in graph.elements.values() if _type(item) == "CreationInfo"), {}
        )
    stated = creation.get("specVersion")
    if not isinstance(stated, str):
        stated = next(
            (
                item.removeprefix("https://spdx.org/rdf/").split("/")[0]
                for item in _strings(context)
                if item.startswith(CONTEXT_PREFIX)
            ),
            "",
        )
    version = ".".join(stated.split(".")[:2])
    if version not in SUPPORTED_VERSIONS:
        raise SbomParseError(
            f"unsupported SPDX 3 specVersion {stated!r}: supported is 3.0 (3.0.x)",
            location="CreationInfo.specVersion",
        )
    return version, creation


def _subject(graph: _Graph, document: dict[str, Any]) -> str:
    for root in _strings(document.get("rootElement")):
        element = graph.elements.get(root, {})
        if _type(element) == "software_Sbom":
            nested = _strings(element.get("rootElement"))
            element = graph.elements.get(nested[0], element) if nested else element
        name = element.get("name")
        if isinstance(name, str) and name.strip():
            version = element.get("software_packageVersion")
            return f"{name.strip()} {version if isinstance(version, str) else ''}".strip()
    name = document.get("name")
    return name.strip() if isinstance(name, str) else ""


def spdx3_jsonld(doc: dict[str, Any], *, limits: Limits) -> ParsedSbom:
    """Read an SPDX 3 JSON-LD document (`is_spdx3` already true)."""
    elements = doc.get("@graph")
    if not isinstance(elements, list):
        raise SbomParseError(
            f"'@graph' must be an array, not {json_type(elements)}", location="$['@graph']"
        )
    findings = Findings()
    graph = _Graph(elements, findings)
    document = next((item for item in graph.elements.values() if _type(item) == "SpdxDocument"), {})
    spec_version, creation = _spec_version(graph, document, doc.get("@context"))
    builder = ComponentBuilder(limits=limits, findings=findings)
    for index, element in enumerate(elements):
        if isinstance(element, dict) and _type(element) == PACKAGE:
            _add(element, f"$['@graph'][{index}]", graph, builder)
    uncounted = sorted(
        kind for kind in graph.types if kind != PACKAGE and kind.endswith(_PACKAGE_LIKE)
    )
    if uncounted:
        findings.add(
            "document",
            f"elements of type {', '.join(uncounted)} are not counted as components "
            f"(only {PACKAGE} is)",
        )
    if not builder.components:
        findings.add("document", f"the document has no {PACKAGE} elements")
    created = created_at(creation.get("created"), where="CreationInfo.created", findings=findings)
    author = bool(_strings(creation.get("createdBy")) or _strings(creation.get("createdUsing")))
    subject = _subject(graph, document)
    builder.check_length(subject, what="document name", where="SpdxDocument.name")
    return ParsedSbom(
        format="spdx",
        spec_version=spec_version,
        encoding="json-ld",
        components=builder.components,
        component_count=len(builder.components),
        created_at=created,
        warnings=findings.as_list(),
        schema_valid=None,
        ntia=ntia_coverage(
            builder.tally,
            dependencies=graph.dependencies,
            author=author,
            timestamp=created is not None,
        ),
        subject=subject,
    )
