"""VEX documents (OpenVEX, CycloneDX VEX, CSAF 2.0 VEX) read into one statement model.

A pure parser: bytes in, a `VexDocument` out. The format is found from the content; anything
else is refused with a `VexError` saying what it looks like. Choices the formats leave open:

- vulnerability: the CVE id (upper-cased) when the statement names one, as its id or an alias,
  else the id as stated; the other ids are `aliases` (CycloneDX references[].id, OpenVEX
  aliases and a non-IRI @id, CSAF cve and ids[].text).
- OpenVEX: a statement per `statements` entry. `products`: the purls of each product and of
  its subcomponents (identifiers.purl, else an @id that is a purl), product first;
  `product_ids` their @ids. Time: last_updated, timestamp, else the document's.
  impact_statement falls back to status_notes. v0.0.x string forms are read too.
- CycloneDX: a statement per vulnerability with an analysis.state: resolved and
  resolved_with_pedigree -> fixed, exploitable -> affected, in_triage -> under_investigation,
  false_positive and not_affected -> not_affected. Justifications code_not_present ->
  vulnerable_code_not_present, code_not_reachable -> vulnerable_code_not_in_execute_path,
  protected_by_compiler and protected_at_runtime -> inline_mitigations_already_exist; the
  other codes have no counterpart and are kept as stated. affects[].ref is a product id; its
  purl is that of the component with that bom-ref (metadata.component or components, at any
  depth), else the ref's own when it is a purl or a BOM-Link "urn:cdx:...#<purl>".
  affects[].versions is not read. action: analysis.response joined by ", "; impact:
  analysis.detail; time: analysis.lastUpdated, firstIssued, else metadata.timestamp.
- CSAF: per vulnerability, the products of each product_status list (known_not_affected;
  known_, first_, last_affected; fixed, first_fixed; under_investigation; not `recommended`)
  grouped into a statement per (status, justification, impact, action): justification is the
  first flags[].label naming the product; impact (not_affected only) its threats of category
  impact but a bare severity word (Red Hat writes "Moderate" there); action its remediations
  as "category: details (url)". Product and group ids resolve through the product tree
  (relationships to their product_reference) to product_identification_helper.purl. Time:
  current_release_date, else initial_release_date (also `issued_at`). Other CSAF categories
  with product statuses are read with a warning.

A problem inside a statement (a wrong type, an unknown status, an overlong id) skips it, or
only that product entry, with a warning "<JSON path>: <message>". A problem in the document's
own fields, or no usable statement left, is a VexError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from evidence.sbom.jsondoc import json_load, json_type
from evidence.sbom.model import Limits, SbomParseError
from evidence.sbom.purls import purl_parse

__all__ = ["JUSTIFICATIONS", "STATUSES", "VexDocument", "VexError", "VexStatement", "vex_parse"]

STATUSES = frozenset({"not_affected", "affected", "fixed", "under_investigation"})
JUSTIFICATIONS = frozenset({
    "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist",
})  # fmt: skip
_CDX_STATES = {
    "resolved": "fixed", "resolved_with_pedigree": "fixed", "exploitable": "affected",
    "in_triage": "under_investigation", "false_positive": "not_affected",
    "not_affected": "not_affected",
}  # fmt: skip
_CDX_KEPT = ("requires_configuration", "requires_dependency", "requires_environment",
             "protected_at_perimeter", "protected_by_mitigating_control")  # fmt: skip
_CDX_JUSTIFICATIONS = {
    "code_not_present": "vulnerable_code_not_present",
    "code_not_reachable": "vulnerable_code_not_in_execute_path",
    "protected_by_compiler": "inline_mitigations_already_exist",
    "protected_at_runtime": "inline_mitigations_already_exist",
} | {code: code for code in _CDX_KEPT}
_CSAF_STATUSES = {
    "known_not_affected": "not_affected", "known_affected": "affected",
    "first_affected": "affected", "last_affected": "affected", "fixed": "fixed",
    "first_fixed": "fixed", "under_investigation": "under_investigation",
}  # fmt: skip
_CSAF_NOT_READ = frozenset({"recommended"})
_SEVERITIES = frozenset({"none", "low", "moderate", "medium", "important", "high", "critical"})
_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_TEXT = 2000  # impact statements, actions
_MAX_VULN_ID = 256
_MAX_REF = 2048  # product ids, bom-refs, purls, document ids
_MAX_NAME = 512  # author names (trimmed, never refused)
_MAX_WARNINGS = 1000

T = TypeVar("T")
Items = list[tuple[Any, str]]  # array elements with their JSON paths


class VexError(ValueError):
    """The document cannot be read as VEX. `location` says where (a JSON path, a line), if known."""

    def __init__(self, message: str, *, location: str = "") -> None:
        self.message = message
        self.location = location
        super().__init__(f"{message} (at {location})" if location else message)


@dataclass(frozen=True)
class VexStatement:
    """One status of one vulnerability for a set of products (see the module docstring)."""

    vulnerability: str
    aliases: tuple[str, ...]
    status: str  # one of STATUSES
    justification: str  # one of JUSTIFICATIONS, a CycloneDX code without counterpart, or ""
    impact_statement: str
    products: tuple[str, ...]  # canonical purls
    product_ids: tuple[str, ...]  # the document's own product references
    timestamp: datetime | None
    action: str


@dataclass(frozen=True)
class VexDocument:
    """A parsed VEX document: its statements and the problems that skipped some of them."""

    format: str  # "openvex" | "cyclonedx" | "csaf"
    document_id: str
    author: str
    issued_at: datetime | None
    statements: tuple[VexStatement, ...]
    warnings: tuple[str, ...]


# A format reader's result: document id, author, issue time, statements.
_Head = tuple[str, str, datetime | None, tuple[VexStatement, ...]]


class _Skip(Exception):
    """A value that cannot be read: skips what holds it (or refuses the document)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _show(value: str) -> str:
    return repr(value[:64] + "..." if len(value) > 64 else value)


def _text(value: object, path: str, *, limit: int = _MAX_REF, required: bool = False) -> str:
    """A string, stripped; "" when absent (unless `required`); refused when over `limit`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _Skip(path, f"expected a string, got {json_type(value)}")
    value = value.strip()
    if len(value) > limit:
        raise _Skip(path, f"{_show(value)} is longer than {limit} characters")
    if required and not value:
        raise _Skip(path, "missing or empty")
    return value


class _Obj:
    """A JSON object and its path: typed reads of its members, errors naming their paths."""

    def __init__(self, value: object, path: str, *, required: bool = True) -> None:
        if value is None and not required:
            value = {}
        if not isinstance(value, dict):
            raise _Skip(path, f"expected an object, got {json_type(value)}")
        self.value: dict[str, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        key = key[:64]
        return f"{self.path}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{self.path}[{key!r}]"

    def get(self, key: str) -> Any:
        return self.value.get(key)

    def obj(self, key: str, *, required: bool = False) -> _Obj:
        return _Obj(self.value.get(key), self.at(key), required=required)

    def arr(self, key: str) -> Items:
        """The elements of an optional array, each with its path; [] when absent."""
        value, path = self.value.get(key), self.at(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _Skip(path, f"expected an array, got {json_type(value)}")
        return [(item, f"{path}[{index}]") for index, item in enumerate(value)]

    def text(self, key: str, *, limit: int = _MAX_REF, required: bool = False) -> str:
        return _text(self.value.get(key), self.at(key), limit=limit, required=required)

    def free(self, key: str, *, limit: int = MAX_TEXT) -> str:
        """Free text, stripped and trimmed to `limit` characters; "" when absent."""
        value = self.value.get(key)
        if value is not None and not isinstance(value, str):
            raise _Skip(self.at(key), f"expected a string, got {json_type(value)}")
        return (value or "").strip()[:limit]

    def time(self, key: str) -> datetime | None:
        """An ISO 8601 date-time (UTC when it names no zone); None when absent."""
        text = self.text(key, limit=64)
        if not text:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _Skip(self.at(key), f"{_show(text)} is not an ISO 8601 date-time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _purl(text: str) -> str:
    """The canonical purl when `text` is one, else ""."""
    if len(text) > _MAX_REF or not text.startswith("pkg:"):
        return ""
    try:
        return purl_parse(text).canonical
    except ValueError:
        return ""


def _vulnerability(stated: str, aliases: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """(primary id, other ids): a CVE id first when there is one, CVE ids upper-cased."""
    ids: list[str] = []
    for value in (stated, *aliases):
        value = value.upper() if _CVE.fullmatch(value) else value
        if value and value not in ids:
            ids.append(value)
    primary = next((value for value in ids if _CVE.fullmatch(value)), ids[0])
    return primary, tuple(value for value in ids if value != primary)


def _statement(
    ids: tuple[str, tuple[str, ...]], status: str, justification: str, impact: str,
    pairs: Iterable[tuple[str, str]], timestamp: datetime | None, action: str,
) -> VexStatement:  # fmt: skip
    """A statement about the (purl, product id) pairs; justifications only for not_affected."""
    pairs = list(pairs)
    return VexStatement(
        ids[0], ids[1], status, justification if status == "not_affected" else "",
        impact[:MAX_TEXT], _unique(purl for purl, _ in pairs), _unique(ref for _, ref in pairs),
        timestamp, action[:MAX_TEXT],
    )  # fmt: skip


def _product_id(value: object, path: str) -> str:
    return _text(value, path, required=True)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


class _Reader:
    """Collects warnings while reading entries one by one."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.dropped = 0

    def warn(self, path: str, message: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(f"{path}: {message}")
        else:
            self.dropped += 1

    def each(self, items: Items, read: Callable[[Any, str], T], what: str) -> list[T]:
        """`read(item, path)` of each item; an item that cannot be read is left out, warned."""
        results: list[T] = []
        for item, path in items:
            try:
                results.append(read(item, path))
            except _Skip as skip:
                self.warn(skip.path, f"{skip.message}; {what} skipped")
        return results

    def statements(
        self, root: _Obj, key: str, read: Callable[[_Obj], list[VexStatement]]
    ) -> tuple[VexStatement, ...]:
        """The statements of array `key`; VexError when there are none, or none is usable."""
        items = root.arr(key)
        if not items:
            raise VexError("the document has no VEX statements", location=root.at(key))
        skips: list[_Skip] = []

        def guarded(value: object, path: str) -> list[VexStatement]:
            try:
                return read(_Obj(value, path))
            except _Skip as skip:
                skips.append(skip)
                raise

        found = [one for group in self.each(items, guarded, "statement") for one in group]
        if not found:
            first = skips[0]
            raise VexError(
                f"no usable VEX statement: all {len(items)} were skipped "
                f"(first: {first.path}: {first.message})",
                location=first.path,
            )
        return tuple(found)

    def all_warnings(self) -> tuple[str, ...]:
        more = [f"... and {self.dropped} more warnings"] if self.dropped else []
        return (*self.warnings, *more)


# OpenVEX ---------------------------------------------------------------------------------


def _openvex(root: _Obj, reader: _Reader) -> _Head:
    issued = root.time("timestamp")
    default_time = root.time("last_updated") or issued
    statements = reader.statements(
        root, "statements", lambda value: [_openvex_statement(value, default_time, reader)]
    )
    author = root.free("author", limit=_MAX_NAME)
    return root.text("@id"), author, issued, statements


def _openvex_vulnerability(statement: _Obj) -> tuple[str, tuple[str, ...]]:
    if isinstance(statement.get("vulnerability"), str):  # v0.0.x
        stated = statement.text("vulnerability", limit=_MAX_VULN_ID, required=True)
        return _vulnerability(stated, ())
    vuln = statement.obj("vulnerability", required=True)
    name = vuln.text("name", limit=_MAX_VULN_ID)
    iri = vuln.text("@id")
    aliases = [_text(v, p, limit=_MAX_VULN_ID, required=True) for v, p in vuln.arr("aliases")]
    if iri and "://" not in iri and len(iri) <= _MAX_VULN_ID:
        aliases.insert(0, iri)
    if not name and not aliases:
        raise _Skip(vuln.path, "names no vulnerability id (name or @id)")
    return _vulnerability(name or aliases[0], aliases)


def _openvex_products(items: Items, reader: _Reader, *, nested: bool) -> list[tuple[str, str]]:
    """(purl, @id) of each product and of its subcomponents; bad entries left out, warned."""

    def read(value: object, path: str) -> list[tuple[str, str]]:
        if isinstance(value, str):  # v0.0.x
            ref = _text(value, path, required=True)
            return [(_purl(ref), ref)]
        product = _Obj(value, path)
        ref = product.text("@id")
        identifiers = product.obj("identifiers")
        stated = identifiers.text("purl")
        purl = _purl(stated or ref)
        if stated and not purl:
            raise _Skip(identifiers.at("purl"), f"{_show(stated)} is not a purl")
        if not purl and not ref:
            raise _Skip(path, "names no product (@id or identifiers.purl)")
        subcomponents = [] if nested else product.arr("subcomponents")
        return [(purl, ref), *_openvex_products(subcomponents, reader, nested=True)]

    return [pair for pairs in reader.each(items, read, "product") for pair in pairs]


def _openvex_statement(
    statement: _Obj, default_time: datetime | None, reader: _Reader
) -> VexStatement:
    ids = _openvex_vulnerability(statement)
    status = statement.text("status", limit=64, required=True)
    if status not in STATUSES:
        raise _Skip(statement.at("status"), f"unknown status {_show(status)}")
    justification = statement.text("justification", limit=64)
    if justification and justification not in JUSTIFICATIONS:
        where = statement.at("justification")
        raise _Skip(where, f"unknown justification {_show(justification)}")
    impact = statement.free("impact_statement") or statement.free("status_notes")
    action = statement.free("action_statement")
    timestamp = statement.time("last_updated") or statement.time("timestamp") or default_time
    pairs = _openvex_products(statement.arr("products"), reader, nested=False)
    # OpenVEX v0.0.x: subcomponents beside the products.
    pairs += _openvex_products(statement.arr("subcomponents"), reader, nested=True)
    if not pairs:
        raise _Skip(statement.at("products"), "names no usable product")
    if status == "not_affected" and not justification and not impact:
        reader.warn(statement.path, "not_affected without a justification or impact statement")
    return _statement(ids, status, justification, impact, pairs, timestamp, action)


# CycloneDX -------------------------------------------------------------------------------


def _cyclonedx(root: _Obj, reader: _Reader) -> _Head:
    metadata = root.obj("metadata")
    issued = metadata.time("timestamp")
    purls = _cyclonedx_purls(root, metadata, reader)
    statements = reader.statements(
        root, "vulnerabilities", lambda vuln: [_cyclonedx_statement(vuln, purls, issued, reader)]
    )
    names = [_Obj(value, path).free("name") for value, path in metadata.arr("authors")]
    for key in ("manufacturer", "manufacture", "supplier"):
        names = names if any(names) else [metadata.obj(key).free("name")]
    author = ", ".join(name for name in names if name)[:_MAX_NAME]
    return root.text("serialNumber"), author, issued, statements


def _cyclonedx_purls(root: _Obj, metadata: _Obj, reader: _Reader) -> dict[str, str]:
    """bom-ref -> canonical purl ("" when it has none) of every component, at any depth."""
    purls: dict[str, str] = {}
    stack = [(metadata.get("component"), metadata.at("component")), *root.arr("components")]
    while stack:
        value, path = stack.pop()
        if value is None:
            continue
        try:
            component = _Obj(value, path)
            ref, stated = component.text("bom-ref"), component.text("purl")
            stack += component.arr("components")
        except _Skip as skip:
            reader.warn(skip.path, f"{skip.message}; component not used to resolve refs")
            continue
        purl = _purl(stated)
        if stated and not purl:
            reader.warn(component.at("purl"), f"{_show(stated)} is not a purl")
        if ref and not purls.get(ref):
            purls[ref] = purl
    return purls


def _bom_link_purl(ref: str) -> str:
    """The purl a ref names by itself: a purl, or a BOM-Link whose fragment is one."""
    if ref.startswith("urn:cdx:") and "#" in ref:
        fragment = ref.split("#", 1)[1]
        return _purl(fragment) or _purl(unquote(fragment))
    return _purl(ref)


def _cyclonedx_statement(
    vuln: _Obj, purls: dict[str, str], default_time: datetime | None, reader: _Reader
) -> VexStatement:
    stated = vuln.text("id", limit=_MAX_VULN_ID, required=True)
    aliases = [
        _Obj(value, path).text("id", limit=_MAX_VULN_ID) for value, path in vuln.arr("references")
    ]
    if vuln.get("analysis") is None:
        raise _Skip(vuln.at("analysis"), "no analysis: a vulnerability report entry, not VEX")
    analysis = vuln.obj("analysis")
    state = analysis.text("state", limit=64, required=True)
    if state not in _CDX_STATES:
        raise _Skip(analysis.at("state"), f"unknown analysis state {_show(state)}")
    code = analysis.text("justification", limit=64)
    if code and code not in _CDX_JUSTIFICATIONS:
        raise _Skip(analysis.at("justification"), f"unknown justification {_show(code)}")
    responses = [_text(v, p, limit=64, required=True) for v, p in analysis.arr("response")]
    detail = analysis.free("detail")
    timestamp = analysis.time("lastUpdated") or analysis.time("firstIssued") or default_time

    def affected(value: object, path: str) -> tuple[str, str]:
        ref = _Obj(value, path).text("ref", required=True)
        return purls.get(ref) or _bom_link_purl(ref), ref

    pairs = reader.each(vuln.arr("affects"), affected, "product")
    if not pairs:
        raise _Skip(vuln.at("affects"), "names no usable affected component")
    ids = _vulnerability(stated, aliases)
    action = ", ".join(_unique(responses))
    justification = _CDX_JUSTIFICATIONS.get(code, "")
    return _statement(ids, _CDX_STATES[state], justification, detail, pairs, timestamp, action)


# CSAF ------------------------------------------------------------------------------------


class _Tree:
    """The product tree: each product id's own purl, relationships to their component, groups.
    A malformed entry is left out with a warning; a malformed list refuses the document."""

    def __init__(self, tree: _Obj, reader: _Reader) -> None:
        self.purls: dict[str, str] = {}
        self.component: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}
        self.reader = reader
        stack = tree.arr("branches")
        while stack:
            for children in reader.each([stack.pop()], self._branch, "branch"):
                stack += children
        reader.each(tree.arr("full_product_names"), self._product, "product")
        reader.each(tree.arr("relationships"), self._relationship, "relationship")
        reader.each(tree.arr("product_groups"), self._group, "product group")

    def _branch(self, value: object, path: str) -> Items:
        branch = _Obj(value, path)
        if branch.get("product") is not None:
            self._product(branch.get("product"), branch.at("product"))
        return branch.arr("branches")

    def _relationship(self, value: object, path: str) -> None:
        relation = _Obj(value, path)
        component = relation.text("product_reference", required=True)
        name = relation.get("full_product_name")
        self.component.setdefault(self._product(name, relation.at("full_product_name")), component)

    def _group(self, value: object, path: str) -> None:
        group = _Obj(value, path)
        members = [_product_id(value, path) for value, path in group.arr("product_ids")]
        self.groups[group.text("group_id", required=True)] = members

    def _product(self, value: object, path: str) -> str:
        """Records a full_product_name; returns its product id."""
        product = _Obj(value, path)
        product_id = product.text("product_id", required=True)
        helper = product.obj("product_identification_helper")
        listed = helper.arr("purls")  # CSAF 2.1
        stated = helper.text("purl") or (_text(*listed[0]) if listed else "")
        purl = _purl(stated)
        if stated and not purl:
            self.reader.warn(helper.at("purl"), f"{_show(stated)} is not a purl")
        if purl or product_id not in self.purls:
            self.purls[product_id] = purl
        return product_id

    def known(self, product_id: str) -> bool:
        return product_id in self.purls

    def purl(self, product_id: str) -> str:
        """The product's purl, else that of the component its relationship names."""
        seen: set[str] = set()
        while product_id and product_id not in seen:
            seen.add(product_id)
            if self.purls.get(product_id):
                return self.purls[product_id]
            product_id = self.component.get(product_id, "")
        return ""

    def expand(self, entry: _Obj) -> list[str]:
        """The product ids an entry (flag, threat, remediation) names, groups expanded."""
        ids = [_product_id(value, path) for value, path in entry.arr("product_ids")]
        for value, path in entry.arr("group_ids"):
            ids += self.groups.get(_product_id(value, path), [])
        return ids


def _csaf(root: _Obj, reader: _Reader) -> _Head:
    document = root.obj("document", required=True)
    tracking = document.obj("tracking")
    category = document.text("category", limit=128)
    version = document.text("csaf_version", limit=16)
    issued = tracking.time("current_release_date") or tracking.time("initial_release_date")
    vulnerabilities = root.get("vulnerabilities")
    if not isinstance(vulnerabilities, list) or not any(
        isinstance(vuln, dict) and vuln.get("product_status") for vuln in vulnerabilities
    ):
        what = f"a CSAF document ({category or 'no category'}) without product statuses"
        raise VexError(f"{what} is not a VEX document", location=root.at("vulnerabilities"))
    if category != "csaf_vex":
        reader.warn(document.at("category"), f"{_show(category)}: product statuses read as VEX")
    if version != "2.0":
        reader.warn(document.at("csaf_version"), f"{_show(version)}: read as CSAF 2.0")
    tree = _Tree(root.obj("product_tree"), reader)
    statements = reader.statements(
        root, "vulnerabilities", lambda vuln: _csaf_statements(vuln, tree, issued, reader)
    )
    author = document.obj("publisher").free("name", limit=_MAX_NAME)
    return tracking.text("id"), author, issued, statements


def _flag_label(entry: _Obj) -> str:
    label = entry.text("label", limit=64, required=True)
    if label not in JUSTIFICATIONS:
        raise _Skip(entry.at("label"), f"unknown justification {_show(label)}")
    return label


def _impact(entry: _Obj) -> str:
    """An impact statement; Red Hat's severity words in impact threats ("Moderate") are not."""
    details = entry.free("details") if entry.text("category", limit=64) == "impact" else ""
    return "" if details.lower() in _SEVERITIES else details


def _remediation(entry: _Obj) -> str:
    category, details, url = entry.text("category"), entry.free("details"), entry.text("url")
    return category + (f": {details}" if details else "") + (f" ({url})" if url else "")


def _per_product(
    items: Items, text_of: Callable[[_Obj], str], tree: _Tree, reader: _Reader, what: str
) -> dict[str, list[str]]:
    """product id -> the texts of the entries (flags, threats, remediations) that name it."""
    texts: dict[str, list[str]] = {}

    def read(value: object, path: str) -> None:
        entry = _Obj(value, path)
        text = text_of(entry)
        for product_id in tree.expand(entry) if text else ():
            texts.setdefault(product_id, []).append(text)

    reader.each(items, read, what)
    return texts


def _csaf_statements(
    vuln: _Obj, tree: _Tree, issued: datetime | None, reader: _Reader
) -> list[VexStatement]:
    cve = vuln.text("cve", limit=_MAX_VULN_ID)
    ids = [
        _Obj(value, path).text("text", limit=_MAX_VULN_ID, required=True)
        for value, path in vuln.arr("ids")
    ]
    if not cve and not ids:
        raise _Skip(vuln.path, "names no vulnerability (cve or ids)")
    vulnerability = _vulnerability(cve or ids[0], ids)
    product_status = vuln.obj("product_status", required=True)
    labels = _per_product(vuln.arr("flags"), _flag_label, tree, reader, "flag")
    impacts = _per_product(vuln.arr("threats"), _impact, tree, reader, "threat")
    actions = _per_product(vuln.arr("remediations"), _remediation, tree, reader, "remediation")
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for key in product_status.value:
        if key not in _CSAF_STATUSES:
            if key not in _CSAF_NOT_READ:
                reader.warn(product_status.at(key), "unknown product status; not read")
            continue
        status = _CSAF_STATUSES[key]
        not_affected = status == "not_affected"
        for product_id in reader.each(product_status.arr(key), _product_id, "product"):
            if not tree.known(product_id):
                reader.warn(
                    product_status.at(key), f"{_show(product_id)} is not in the product tree"
                )
            group = (
                status,
                labels.get(product_id, [""])[0] if not_affected else "",
                "\n".join(impacts.get(product_id, [])) if not_affected else "",
                "; ".join(actions.get(product_id, [])),
            )
            groups.setdefault(group, []).append(product_id)
    if not groups:
        raise _Skip(product_status.path, "names no product")

    def pairs(product_ids: list[str]) -> list[tuple[str, str]]:
        return [(tree.purl(product_id), product_id) for product_id in product_ids]

    return [
        _statement(vulnerability, status, label, impact, pairs(ids_), issued, action)
        for (status, label, impact, action), ids_ in groups.items()
    ]


# Detection -------------------------------------------------------------------------------


def _what_else(root: dict[str, Any]) -> str:
    """What a JSON object that is none of the VEX formats looks like."""
    if "spdxVersion" in root or "spdx" in str(root.get("@context"))[:200].lower():
        return "an SPDX document, not a VEX document (SPDX VEX is not supported)"
    if root.get("dataType") == "CVE_RECORD" or "cveMetadata" in root:
        return "a CVE record, not a VEX document"
    if "resultsPerPage" in root or root.get("format") == "NVD_CVE":
        return "an NVD API response, not a VEX document"
    if isinstance(root.get("id"), str) and ("modified" in root or "affected" in root):
        return "an OSV record, not a VEX document"
    return "JSON of no VEX format (no OpenVEX @context, CycloneDX bomFormat or CSAF document)"


def _detect(root: object) -> str:
    """ "openvex", "cyclonedx" or "csaf"; VexError saying what the document is otherwise."""
    if not isinstance(root, dict):
        raise VexError(f"not a VEX document: the JSON is {json_type(root)}", location="$")
    context = root.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if any(isinstance(c, str) and c.startswith("https://openvex.dev/ns") for c in contexts):
        return "openvex"
    if root.get("bomFormat") == "CycloneDX":
        if not root.get("vulnerabilities"):
            message = "a CycloneDX SBOM without vulnerabilities is not a VEX document"
            raise VexError(message, location="$.vulnerabilities")
        return "cyclonedx"
    document = root.get("document")
    if isinstance(document, dict) and "csaf_version" in document:
        return "csaf"
    raise VexError(_what_else(root), location="$")


_READERS: dict[str, Callable[[_Obj, _Reader], _Head]] = {
    "openvex": _openvex, "cyclonedx": _cyclonedx, "csaf": _csaf,
}  # fmt: skip


def vex_parse(data: bytes, *, max_bytes: int = 20 * 1024 * 1024) -> VexDocument:
    """The VEX document in `data` (OpenVEX, CycloneDX or CSAF 2.0 JSON), or VexError.

    Statements with a problem are skipped with a warning; the document is refused when it is
    not VEX, when its own fields are malformed, or when no statement is usable."""
    data = bytes(data)
    if len(data) > max_bytes:
        raise VexError(f"the document is {len(data)} bytes, over the {max_bytes}-byte limit")
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    if not data.strip():
        raise VexError("not JSON: the document is empty", location="line 1, column 1")
    try:
        root = json_load(data, Limits(max_bytes=max_bytes))
    except SbomParseError as exc:
        message = exc.message if exc.message.startswith("not JSON") else f"not JSON: {exc.message}"
        raise VexError(message, location=exc.location) from None
    kind = _detect(root)
    reader = _Reader()
    try:
        document_id, author, issued, statements = _READERS[kind](_Obj(root, "$"), reader)
    except _Skip as skip:
        raise VexError(skip.message, location=skip.path) from None
    return VexDocument(kind, document_id, author, issued, statements, reader.all_warnings())
