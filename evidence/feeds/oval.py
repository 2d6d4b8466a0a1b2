"""Azure Linux / CBL-Mariner OVAL definitions (source "azurelinux-oval").

The document is `<oval_definitions>` (namespace oval-definitions-5) with `<definitions>`,
`<tests>`, `<objects>` and `<states>`; the package tests are linux-def `rpminfo_test`s whose
object names the package and whose state holds an `<evr operation="less than">`. `parse`
returns one Advisory per `<definition class="vulnerability">`; other classes are skipped and
counted in `FeedParse.note`. A definition that cannot be read is a RecordError located as
`definition[N] (ID)`, N counting `<definition>` elements from 1. `records_seen` counts every
definition, skipped ones included.

Decisions:

* Which documents: the generator's product name must name Azure Linux or CBL-Mariner (or, with
  no generator, the definition ids must be `oval:com.microsoft.azurelinux:` /
  `oval:com.microsoft.cbl-mariner:`). Oracle's ELSA OVAL (generator "Oracle Errata System",
  `class="patch"` definitions, RHEL-style "is signed with" criteria) is refused with a
  FeedError naming it, as is any other vendor's OVAL: each needs its own source.
* Criteria: the criterion -> rpminfo_test -> rpminfo_object (name) + rpminfo_state (evr)
  indirection is resolved by id. Criteria under an AND (the OVAL default) that test the same
  package are one range: "greater than 0:1.19.0.cm2" AND "less than 0:1.20.7-1.cm2" gives
  `vers:rpm/>1.19.0.cm2|<1.20.7-1.cm2` (lower bounds written first). Under OR / ONE / XOR each
  criterion is its own row. A criterion naming a missing test, object or state, a test that is
  not an rpminfo_test, a state without an evr_string `<evr>`, or a negated criterion makes the
  definition a RecordError. `<extend_definition>` is ignored (it carries no package range).
* EVR: as with updateinfo and Bodhi, an explicit "0:" epoch is dropped ("0:3.4.0-1.azl3" ->
  "3.4.0-1.azl3"), a non-zero one kept; rpm compares both spellings the same.
* `<patchable>`: "true" or absent -> status "affected", fixed_version = the "less than" EVR,
  fix_available_at = the advisory date; "false" -> status "affected", fixed_version "" (vers
  as stated, e.g. `<=9.16.33-1.cm2`); "Not Applicable" -> status "not_affected", vers as
  stated, fixed_version ""; any other value makes the definition a RecordError.
* distro: from the dist tag of the EVRs (`.azl3` -> "azurelinux-3.0", `.cm2` ->
  "mariner-2.0"); "" when the EVRs carry none (the document itself states no release
  number). product = the definition's `<platform>` ("Azure Linux", "CBL-Mariner").
* Metadata: aliases = CVE ids from `<reference source="CVE" ref_id>` and from the title;
  references = the http(s) `ref_url`s; severity from `<severity>` (or `<advisory><severity>`);
  published_at from `<advisory_date>` (or `<advisory><issued date>`); modified_at from
  `<advisory><updated date>` when present (the definition's `version` is a counter, not a
  date). A malformed date is left out and noted in a RecordError; the definition is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from evidence.feeds.common import local_name, severity, vers
from evidence.feeds.model import Advisory, Affected, FeedError, FeedLimits, FeedParse, RecordError
from evidence.feeds.updateinfo import (
    attr,
    checked,
    child_text,
    children,
    cve_ids,
    feed_datetime,
    named,
    rpm_distro,
    rpm_evr,
    web_links,
    xml_document,
)

SOURCE = "azurelinux-oval"
_DEFAULT_LIMITS = FeedLimits()

OVAL_DEFINITIONS_NS = "http://oval.mitre.org/XMLSchema/oval-definitions-5"
_WHAT = "an Azure Linux / CBL-Mariner OVAL document"
_VENDORS = (("azure linux", "Azure Linux"), ("cbl-mariner", "CBL-Mariner"))
_ID_PREFIXES = (
    ("oval:com.microsoft.azurelinux:", "Azure Linux"),
    ("oval:com.microsoft.cbl-mariner:", "CBL-Mariner"),
)
_OPERATIONS = {
    "less than": "<",
    "less than or equal": "<=",
    "greater than": ">",
    "greater than or equal": ">=",
    "equals": "=",
    "not equal": "!=",
}
_ORDER = {">": 0, ">=": 0, "=": 1, "!=": 1, "<": 2, "<=": 2}
_PATCHABLE_STATUS = {
    "": "affected",
    "true": "affected",
    "false": "affected",
    "not applicable": "not_affected",
}


@dataclass
class _Index:
    """The document's tests, objects and states by id."""

    tests: dict[str, ET.Element]
    objects: dict[str, ET.Element]
    states: dict[str, ET.Element]


@dataclass(frozen=True)
class _Constraint:
    """One resolved criterion: package name, vers operator and EVR."""

    name: str
    op: str
    evr: str


def parse(data: bytes, *, limits: FeedLimits = _DEFAULT_LIMITS, name: str = "") -> FeedParse:
    """The advisories of an Azure Linux / CBL-Mariner OVAL document, one per vulnerability
    definition, with a RecordError for each one that cannot be read. Raises FeedError when the
    document is not such OVAL (another root or namespace, another vendor's generator, Oracle
    ELSA OVAL, JSON, DTDs or entities, broken compression)."""
    root = xml_document(data, limits, expected="oval_definitions", what=_WHAT, name=name)
    definitions = list(children(_section(root, "definitions"), "definition"))
    vendor = _vendor(root, definitions, name)
    if len(definitions) > limits.max_records:
        raise named(
            FeedError(
                f"the document has {len(definitions):,} definitions; the limit is "
                f"{limits.max_records:,} (max_records)"
            ),
            name,
        )
    index = _Index(
        tests=_by_id(_section(root, "tests")),
        objects=_by_id(_section(root, "objects")),
        states=_by_id(_section(root, "states")),
    )
    result = FeedParse()
    skipped = 0
    for position, definition in enumerate(definitions, start=1):
        result.records_seen += 1
        if (definition.get("class") or "").strip() != "vulnerability":
            skipped += 1
            continue
        _read_definition(definition, position, index, limits, result)
    result.note = (
        f"{vendor} OVAL: {len(definitions) - skipped} vulnerability definitions, "
        f"{skipped} other definitions skipped"
    )
    return result


def _vendor(root: ET.Element, definitions: list[ET.Element], name: str) -> str:
    """ "Azure Linux" or "CBL-Mariner" from the generator (or the definition ids); FeedError
    for Oracle ELSA OVAL and for any other vendor's OVAL."""
    if root.tag != f"{{{OVAL_DEFINITIONS_NS}}}oval_definitions":
        raise named(
            FeedError(
                f"not {_WHAT}: the root element is {root.tag[:120]!r}, expected "
                f"<oval_definitions> in namespace {OVAL_DEFINITIONS_NS}"
            ),
            name,
        )
    product = " ".join(_generator_product(root).split())[:120]
    first_id = (definitions[0].get("id") or "") if definitions else ""
    if "oracle" in product.lower() or first_id.startswith("oval:com.oracle."):
        raise named(
            FeedError(
                f"not {_WHAT}: this is Oracle Linux ELSA OVAL (generator {product!r}); "
                "the azurelinux-oval parser does not read it"
            ),
            name,
        )
    for needle, vendor in _VENDORS:
        if needle in product.lower():
            return vendor
    if not product:
        for prefix, vendor in _ID_PREFIXES:
            if first_id.startswith(prefix):
                return vendor
    shown = f"generator {product!r}" if product else "no generator product name"
    raise named(FeedError(f"not {_WHAT}: the document has {shown}"), name)


def _generator_product(root: ET.Element) -> str:
    """The generator's `<product_name>` text ("" when absent)."""
    for generator in children(root, "generator"):
        for product in children(generator, "product_name"):
            return "".join(product.itertext())[:1000]
    return ""


def _section(root: ET.Element, tag: str) -> ET.Element:
    """The root's `<tag>` section, or an empty element standing in for it."""
    return next(children(root, tag), ET.Element(tag))


def _by_id(section: ET.Element) -> dict[str, ET.Element]:
    """The section's elements by their `id` attribute (the first one wins)."""
    found: dict[str, ET.Element] = {}
    for element in section:
        key = element.get("id")
        if key:
            found.setdefault(key, element)
    return found


def _read_definition(
    definition: ET.Element, position: int, index: _Index, limits: FeedLimits, out: FeedParse
) -> None:
    """Append the definition's advisory (and any date problems) or its RecordError to `out`."""
    where = f"definition[{position}]"
    raw_id = (definition.get("id") or "").strip()[:120]
    if raw_id:
        where += f" ({raw_id})"
    problems: list[str] = []
    try:
        advisory = _advisory(definition, index, limits, problems)
    except FeedError:
        raise
    except ValueError as exc:
        out.errors.append(RecordError(where, str(exc)))
        return
    out.advisories.append(advisory)
    out.errors.extend(RecordError(where, problem) for problem in problems)


def _advisory(
    definition: ET.Element, index: _Index, limits: FeedLimits, problems: list[str]
) -> Advisory:
    """The Advisory for one vulnerability definition; ValueError when it cannot be read."""
    external_id = attr(definition, "id", limits).strip()
    if not external_id or len(external_id) > 256 or any(c.isspace() for c in external_id):
        raise ValueError(f"the definition id {external_id[:64]!r} is not an OVAL id")
    metadata = next(children(definition, "metadata"), ET.Element("metadata"))
    details = next(children(metadata, "advisory"), ET.Element("advisory"))
    title = " ".join(child_text(metadata, "title", limits).split())
    references = list(children(metadata, "reference"))
    published = _date_text(child_text(metadata, "advisory_date", limits), "advisory_date", problems)
    if published is None:
        published = _date_attr(details, "issued", problems)
    advisory = Advisory(
        source=SOURCE,
        external_id=external_id,
        title=title,
        description=child_text(metadata, "description", limits),
        kind="security",
        severity=severity(
            child_text(metadata, "severity", limits) or child_text(details, "severity", limits)
        ),
        published_at=published,
        modified_at=_date_attr(details, "updated", problems),
        aliases=_aliases(references, title, external_id, limits),
        references=web_links(attr(ref, "ref_url", limits) for ref in references),
    )
    advisory.affected = _affected(definition, metadata, index, published, limits)
    return advisory


def _date_text(value: str, what: str, problems: list[str]) -> datetime | None:
    """The date in `value`; None when empty, or when malformed (noted in `problems`)."""
    if not value:
        return None
    try:
        return feed_datetime(value)
    except ValueError:
        problems.append(f"<{what}> {value[:64]!r} is not a date; the definition is kept without it")
        return None


def _date_attr(details: ET.Element, tag: str, problems: list[str]) -> datetime | None:
    """The `date` attribute of `<advisory><tag>`; None when absent or malformed."""
    element = next(children(details, tag), None)
    if element is None:
        return None
    return _date_text((element.get("date") or "").strip(), f"{tag} date", problems)


def _aliases(
    references: list[ET.Element], title: str, own_id: str, limits: FeedLimits
) -> tuple[str, ...]:
    """The sorted CVE ids of the CVE references and of the title."""
    texts = [title]
    for reference in references:
        if attr(reference, "source", limits).strip().upper() == "CVE":
            texts.append(attr(reference, "ref_id", limits))
    found = cve_ids(*texts)
    found.discard(own_id.upper())
    return tuple(sorted(found))


def _affected(
    definition: ET.Element,
    metadata: ET.Element,
    index: _Index,
    published: datetime | None,
    limits: FeedLimits,
) -> list[Affected]:
    """One Affected per package range the definition's criteria state."""
    patchable = " ".join(child_text(metadata, "patchable", limits).lower().split())
    if patchable not in _PATCHABLE_STATUS:
        raise ValueError(f"<patchable> {patchable[:64]!r} is not true, false or Not Applicable")
    platform = next(
        (
            " ".join("".join(p.itertext()).split())
            for a in children(metadata, "affected")
            for p in children(a, "platform")
        ),
        "",
    )[:200]
    rows: list[Affected] = []
    for criteria in children(definition, "criteria"):
        for group in _groups(criteria, index, limits):
            for row in _rows(group, patchable, platform, published):
                if row not in rows:
                    rows.append(row)
    return rows


def _groups(criteria: ET.Element, index: _Index, limits: FeedLimits) -> list[list[_Constraint]]:
    """The criteria tree as groups of constraints that hold together: all direct criteria of
    an AND form one group, each criterion of an OR / ONE / XOR its own; nested criteria give
    their own groups."""
    if (criteria.get("negate") or "").strip().lower() == "true":
        raise ValueError("negated <criteria> are not supported")
    operator = (criteria.get("operator") or "AND").strip().upper()
    groups: list[list[_Constraint]] = []
    together: list[_Constraint] = []
    for child in criteria:
        tag = local_name(child.tag)
        if tag == "criteria":
            groups.extend(_groups(child, index, limits))
        elif tag == "criterion":
            constraints = _criterion(child, index, limits)
            if operator == "AND":
                together.extend(constraints)
            else:
                groups.append(constraints)
    if together:
        groups.insert(0, together)
    return groups


def _criterion(criterion: ET.Element, index: _Index, limits: FeedLimits) -> list[_Constraint]:
    """The constraints of the rpminfo_test a criterion names (none when the test has no state:
    the package is affected at every version, written as an "any" constraint)."""
    if (criterion.get("negate") or "").strip().lower() == "true":
        raise ValueError("a negated <criterion> is not supported")
    test_ref = attr(criterion, "test_ref", limits).strip()
    test = index.tests.get(test_ref)
    if test is None:
        raise ValueError(f"criterion test_ref {test_ref[:120]!r} names no test in <tests>")
    if local_name(test.tag) != "rpminfo_test":
        raise ValueError(f"test {test_ref!r} is a <{local_name(test.tag)}>, not an rpminfo_test")
    package = _package_name(test, test_ref, index, limits)
    constraints = [
        _state_constraint(package, attr(ref, "state_ref", limits).strip(), index, limits)
        for ref in children(test, "state")
    ]
    return constraints or [_Constraint(package, "", "")]


def _package_name(test: ET.Element, test_ref: str, index: _Index, limits: FeedLimits) -> str:
    """The package name of the rpminfo_object the test points at; ValueError when missing."""
    ref = next(children(test, "object"), None)
    object_ref = attr(ref, "object_ref", limits).strip() if ref is not None else ""
    found = index.objects.get(object_ref)
    if found is None or local_name(found.tag) != "rpminfo_object":
        raise ValueError(f"test {test_ref!r} names no rpminfo_object ({object_ref[:120]!r})")
    name = child_text(found, "name", limits)
    if not name or len(name) > 256 or any(c.isspace() for c in name):
        raise ValueError(f"object {object_ref!r} has no usable package <name> ({name[:64]!r})")
    return name


def _state_constraint(
    package: str, state_ref: str, index: _Index, limits: FeedLimits
) -> _Constraint:
    """The (operator, EVR) of an rpminfo_state; ValueError when missing or not an EVR test."""
    state = index.states.get(state_ref)
    if state is None or local_name(state.tag) != "rpminfo_state":
        raise ValueError(f"state_ref {state_ref[:120]!r} names no rpminfo_state in <states>")
    evr_element = next(children(state, "evr"), None)
    if evr_element is None:
        raise ValueError(f"state {state_ref!r} has no <evr> (only EVR comparisons are read)")
    datatype = (evr_element.get("datatype") or "").strip()
    operation = " ".join((evr_element.get("operation") or "equals").lower().split())
    if datatype != "evr_string" or operation not in _OPERATIONS:
        raise ValueError(
            f"state {state_ref!r}: <evr datatype={datatype[:32]!r} "
            f"operation={operation[:32]!r}> is not an EVR comparison this parser reads"
        )
    text = checked("".join(evr_element.itertext()), f"state {state_ref!r} <evr>", limits)
    return _Constraint(package, _OPERATIONS[operation], _normal_evr(text.strip()))


def _normal_evr(text: str) -> str:
    """ "E:V-R" with an epoch of 0 dropped; ValueError when it is not an EVR."""
    epoch, colon, rest = text.partition(":")
    if not colon:
        epoch, rest = "", text
    version, _, release = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return rpm_evr(epoch, version, release)


def _rows(
    group: list[_Constraint], patchable: str, platform: str, published: datetime | None
) -> list[Affected]:
    """One Affected per package of a constraint group."""
    names = list(dict.fromkeys(constraint.name for constraint in group))
    rows = []
    for package in names:
        mine = sorted(
            (c for c in group if c.name == package and c.op),
            key=lambda c: _ORDER[c.op],
        )
        fixed = next((c.evr for c in mine if c.op == "<"), "")
        if patchable in ("false", "not applicable"):
            fixed = ""
        rows.append(
            Affected(
                package_type="rpm",
                name=package,
                distro=next((rpm_distro(c.evr) for c in mine if rpm_distro(c.evr)), ""),
                vers=vers("rpm", *(c.op + c.evr for c in mine)),
                fixed_version=fixed,
                fix_available_at=published if fixed else None,
                status=_PATCHABLE_STATUS[patchable],
                product=platform,
            )
        )
    return rows
