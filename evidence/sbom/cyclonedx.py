"""CycloneDX JSON documents (spec 1.2 to 1.7), and what the JSON and XML readers share.

Counting rule: every component at any depth under `components` (nested `components` too, in
document order, parent before children), never `metadata.component` or its children.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from sys import intern as _intern
from typing import Any

from evidence.sbom.components import (
    ALGORITHMS,
    HEX_DIGITS,
    ComponentBuilder,
    licence_expression,
)
from evidence.sbom.dates import created_at
from evidence.sbom.findings import Findings
from evidence.sbom.jsondoc import json_element, json_type
from evidence.sbom.model import Limits, ParsedSbom, SbomParseError
from evidence.sbom.ntia import ntia_coverage
from evidence.sbom.schemas import SUPPORTED_VERSIONS, json_schema_check


def spec_version_check(version: object, *, where: str) -> str:
    """The spec version if this module reads it; otherwise SbomParseError naming the ones it
    does."""
    if isinstance(version, str) and version in SUPPORTED_VERSIONS:
        return version
    supported = ", ".join(SUPPORTED_VERSIONS)
    if version is None:
        raise SbomParseError(
            f"the document has no specVersion; supported are {supported}", location=where
        )
    shown = repr(version) if isinstance(version, str) else json_type(version)
    raise SbomParseError(
        f"unsupported CycloneDX specVersion {shown}: supported are {supported}", location=where
    )


def vex_only_error(vulnerabilities: int, *, where: str) -> SbomParseError:
    noun = "vulnerability" if vulnerabilities == 1 else "vulnerabilities"
    return SbomParseError(
        f"this is a CycloneDX VEX document ({vulnerabilities:,} {noun}) that lists no "
        "components: there is no inventory to ingest",
        location=where,
    )


def subject_of(name: str, version: str) -> str:
    return f"{name} {version}".strip()


def cyclonedx_result(
    *,
    spec_version: str,
    encoding: str,
    builder: ComponentBuilder,
    findings: Findings,
    created: datetime | None,
    schema_valid: bool,
    subject: str,
    dependencies: bool,
    author: bool,
) -> ParsedSbom:
    if not builder.components:
        findings.add("document", "the document lists no components")
    return ParsedSbom(
        format="cyclonedx",
        spec_version=spec_version,
        encoding=encoding,
        components=builder.components,
        component_count=len(builder.components),
        created_at=created,
        warnings=findings.as_list(),
        schema_valid=schema_valid,
        ntia=ntia_coverage(
            builder.tally, dependencies=dependencies, author=author, timestamp=created is not None
        ),
        subject=subject,
    )


_IDENTITY_KEYS = ("purl", "name", "version", "group", "cpe", "bom-ref")
_hex = HEX_DIGITS.fullmatch


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    """The string `entry[key]`, '' when absent; SbomParseError at `where`.key otherwise."""
    value = entry.get(key)
    if type(value) is str:
        return value
    if value is None:
        return ""
    field = f".{key}" if key.isidentifier() else f"[{key!r}]"
    raise SbomParseError(
        f"'{key}' must be a string, not {json_type(value)}", location=f"{where}{field}"
    )


def _hashes(hashes: Any, where: str, builder: ComponentBuilder) -> tuple[tuple[str, str], ...]:
    if type(hashes) is not list:
        return ()
    if len(hashes) == 1:  # the common case: one hash, already normalised
        item = hashes[0]
        if type(item) is dict:
            alg, content = item.get("alg"), item.get("content")
            if type(alg) is str and type(content) is str:
                normalised = ALGORITHMS.get(alg)
                if normalised and len(content) <= 1024 and _hex(content):
                    return ((normalised, content),)
    out = []
    for item in hashes:
        if type(item) is dict:
            alg, content = item.get("alg"), item.get("content")
            if type(alg) is str and type(content) is str:
                # The common case inline (lowercase hex already: no copy made); anything
                # unusual goes through hash_pair.
                normalised = ALGORITHMS.get(alg)
                if normalised and len(content) <= 1024 and _hex(content):
                    out.append((normalised, content))
                else:
                    pair = builder.hash_pair(alg, content, where=where)
                    if pair is not None:
                        out.append(pair)
    return tuple(out)


# One shared tuple per single licence id ("MIT" on 100,000 components is one object, not
# 100,000 strings and tuples); cleared when full, like the purl query cache.
_ONE_LICENCE: dict[str, tuple[str]] = {}
_ONE_LICENCE_KEPT = 4096


def _licenses(licenses: Any) -> tuple[str, ...]:
    if type(licenses) is not list:
        return ()
    if len(licenses) == 1:  # the common case: one licence id
        licence = licenses[0].get("license") if type(licenses[0]) is dict else None
        if type(licence) is dict:
            value = licence.get("id")
            if type(value) is str and value:
                shared = _ONE_LICENCE.get(value)
                if shared is None:
                    if len(_ONE_LICENCE) >= _ONE_LICENCE_KEPT:
                        _ONE_LICENCE.clear()
                    shared = _ONE_LICENCE[value] = (_intern(value),)
                return shared
    found: list[str] = []
    for item in licenses:
        if type(item) is not dict:
            continue
        licence = item.get("license")
        if type(licence) is dict:
            value = licence.get("id") or licence.get("name")
            if type(value) is str and value:
                found.append(value)
        expression = item.get("expression")
        if type(expression) is str and expression:
            found.append(licence_expression(expression))
    if len(found) < 2:
        return tuple(found)
    return tuple(dict.fromkeys(found))


def _supplier(supplier: Any, publisher: Any) -> str:
    """The supplier's name, else the publisher (the entry's `supplier` and `publisher`)."""
    if type(supplier) is dict:
        name = supplier.get("name")
        if type(name) is str and name.strip():
            return name.strip()
    return publisher.strip() if type(publisher) is str else ""


def _add(entry: dict[str, Any], where: str, builder: ComponentBuilder) -> None:
    get = entry.get
    purl, name, version = get("purl", ""), get("name", ""), get("version", "")
    group, cpe, ref = get("group", ""), get("cpe", ""), get("bom-ref", "")
    if not (
        type(purl) is str and type(name) is str and type(version) is str
        and type(group) is str and type(cpe) is str and type(ref) is str
    ):  # fmt: skip
        purl, name, version, group, cpe, ref = (_text(entry, key, where) for key in _IDENTITY_KEYS)
    hashes, licenses = get("hashes"), get("licenses")
    supplier, publisher = get("supplier"), get("publisher")
    builder.append(
        where,
        purl,
        name,
        version,
        group,
        cpe,
        _hashes(hashes, where, builder) if hashes else (),
        _licenses(licenses) if licenses else (),
        _supplier(supplier, publisher) if supplier or publisher else "",
        ref,
    )


def _walk(
    components: list[Any],
    builder: ComponentBuilder,
    limits: Limits,
    *,
    consume: bool,
    first_index: int = 0,
) -> None:
    """Pre-order walk of `components` and their nested `components`, without recursion. With
    `consume`, each entry is dropped from its list once read, so that the memory of the decoded
    document is given back while the components are built. `first_index` is the index in
    `$.components` of the first of `components` (for a walk one component at a time)."""
    stack: list[tuple[list[Any], int, str, int]] = [(components, 0, "", 1)]
    while stack:
        items, start, parent, depth = stack.pop()
        for index in range(start, len(items)):
            entry = items[index]
            if consume:
                items[index] = None
            where = (
                f"$.components[{first_index + index}]"
                if not parent
                else f"{parent}.components[{index}]"
            )
            if type(entry) is not dict:
                raise SbomParseError(
                    f"a component must be an object, not {json_type(entry)}", location=where
                )
            _add(entry, where, builder)
            nested = entry.get("components")
            if nested:
                if not isinstance(nested, list):
                    raise SbomParseError(
                        f"'components' must be an array, not {json_type(nested)}",
                        location=f"{where}.components",
                    )
                if depth >= limits.max_depth:
                    raise SbomParseError(
                        f"components nested deeper than {limits.max_depth} levels (max_depth)",
                        location=f"{where}.components",
                    )
                stack.append((items, index + 1, parent, depth))
                stack.append((nested, 0, where, depth + 1))
                break


def _author(metadata: dict[str, Any]) -> bool:
    """Whether the document names who or what made it: authors, tools (the 1.4 array or the
    1.5+ object of components and services) or the manufacturer."""
    tools = metadata.get("tools")
    if isinstance(tools, dict):
        tools = [tool for part in tools.values() if isinstance(part, list) for tool in part]
    return bool(
        metadata.get("authors")
        or tools
        or metadata.get("manufacture")
        or metadata.get("manufacturer")
    )


def cyclonedx_json(doc: dict[str, Any], *, limits: Limits, consume: bool = False) -> ParsedSbom:
    """Read a decoded CycloneDX JSON document (`bomFormat` already checked). With `consume`,
    its component list is emptied as it is read (see `_walk`)."""
    components = doc.get("components")
    if components is None:
        components = []
    elif not isinstance(components, list):
        raise SbomParseError(
            f"'components' must be an array, not {json_type(components)}",
            location="$.components",
        )

    def check_and_walk(version: str, builder: ComponentBuilder, findings: Findings) -> bool:
        valid = json_schema_check(doc, version, findings)
        _walk(components, builder, limits, consume=consume)
        return valid

    return _read(doc, count=len(components), limits=limits, check_and_walk=check_and_walk)


def cyclonedx_json_stream(
    members: dict[str, Any], text: str, starts: list[int] | None, *, limits: Limits
) -> ParsedSbom:
    """`cyclonedx_json` for big documents, without ever holding all components decoded:
    `members` is the document without its `components`, whose elements are decoded one at a
    time from `text` at the offsets `starts` (see jsondoc.json_split), checked against the
    schema's component definition, read and dropped. The result is the same as
    `cyclonedx_json`'s but for the schema's `uniqueItems` on components, not checked here."""

    def check_and_walk(version: str, builder: ComponentBuilder, findings: Findings) -> bool:
        skeleton = members if starts is None else {**members, "components": []}
        valid = json_schema_check(skeleton, version, findings)
        for index, start in enumerate(starts or ()):
            entry = json_element(text, start)
            where = f"$.components[{index}]"
            valid = json_schema_check(entry, version, findings, root=where) and valid
            _walk([entry], builder, limits, consume=True, first_index=index)
        return valid

    if "components" in members:  # there, but not an array
        raise SbomParseError(
            f"'components' must be an array, not {json_type(members['components'])}",
            location="$.components",
        )
    return _read(members, count=len(starts or ()), limits=limits, check_and_walk=check_and_walk)


def _read(
    doc: dict[str, Any],
    *,
    count: int,
    limits: Limits,
    check_and_walk: Callable[[str, ComponentBuilder, Findings], bool],
) -> ParsedSbom:
    findings = Findings()
    spec_version = spec_version_check(doc.get("specVersion"), where="$.specVersion")
    vulnerabilities = doc.get("vulnerabilities")
    if not count and isinstance(vulnerabilities, list) and vulnerabilities:
        raise vex_only_error(len(vulnerabilities), where="$.vulnerabilities")

    builder = ComponentBuilder(limits=limits, findings=findings)
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    subject = ""
    described = metadata.get("component")
    if isinstance(described, dict):
        where = "$.metadata.component"
        subject = subject_of(_text(described, "name", where), _text(described, "version", where))
        builder.check_length(subject, what="name of the described component", where=where)
        ref = _text(described, "bom-ref", where)
        if ref:
            builder.note_ref(ref, where=where)
    schema_valid = check_and_walk(spec_version, builder, findings)

    dependencies = doc.get("dependencies")
    return cyclonedx_result(
        spec_version=spec_version,
        encoding="json",
        builder=builder,
        findings=findings,
        created=created_at(
            metadata.get("timestamp"), where="$.metadata.timestamp", findings=findings
        ),
        schema_valid=schema_valid,
        subject=subject,
        dependencies=isinstance(dependencies, list) and bool(dependencies),
        author=_author(metadata),
    )
