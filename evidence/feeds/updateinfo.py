"""yum/dnf repository `updateinfo.xml` (source "fedora-updateinfo").

The document is `<updates>` holding one `<update type=... status=...>` per advisory; it may be
gzip, xz or zstd compressed (recognised by magic bytes, never by file name). `parse` returns one
Advisory per `<update>`; an update it cannot read is a RecordError located as
`update[N] (ID)`, N counting `<update>` elements from 1 in document order.

Decisions, so that a reader knows what a stored row means:

* Dates: `<issued date>` and `<updated date>` may be "YYYY-MM-DD HH:MM:SS", the same with
  " UTC", ISO 8601 or POSIX seconds; no zone means UTC. A malformed date (createrepo_c's
  "15mangled2") does not drop the update: the advisory is kept with that date missing
  (published_at / modified_at None, and then no fix_available_at) and a RecordError names the
  update and the value, so the run is partial and the gap is visible.
* EVR: `fixed_version` is "epoch:version-release" when the package element states an epoch
  other than "0", otherwise "version-release" (rpm compares a missing epoch as 0, so both
  spellings mean the same). `vers` is `vers:rpm/<EVR`.
* Arches: rows that agree on (name, distro, fixed_version, module) are merged into one;
  `arch` keeps the arch when every merged package had the same one (x86_64, noarch, src) and
  is "" when several arches share the EVR. Arch is informational, never a match restriction.
* Distro: from the dist tag in the package release (`rpm_distro`): `.fcNN` and `module_fNN`
  -> "fedora-NN", `.azlN` -> "azurelinux-N.0", `.cmN` -> "mariner-N.0", `.elN` / `.elN_M` /
  `+elN.M` (RHEL modules) -> "rhel-N"; anything else -> "". `product` is the collection's
  `short` name (its `<name>` when `short` is empty), so an unmapped row can be explained.
* Aliases: CVE ids from `<reference type="cve">` ids and titles, and any reference whose id is
  exactly a CVE id. References: the `href`s that are http(s) URLs, in document order.
* kind: the `type` attribute when it is security, bugfix, enhancement or newpackage, else
  "unspecified". Severity: `<severity>` through `common.severity` ("None" -> "none").

The helpers below the parser (`rpm_distro`, `rpm_evr`, `cve_ids`, `feed_datetime`, ...) are
shared with the Bodhi and OVAL parsers of this package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from xml.etree import ElementTree as ET

from evidence.feeds.common import decompress, feed_xml, local_name, parse_datetime, severity, vers
from evidence.feeds.model import Advisory, Affected, FeedError, FeedLimits, FeedParse, RecordError

SOURCE = "fedora-updateinfo"
_DEFAULT_LIMITS = FeedLimits()

_KINDS = frozenset({"security", "bugfix", "enhancement", "newpackage"})
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}", re.IGNORECASE)
_CVE_EXACT = re.compile(r"\s*CVE-\d{4}-\d{4,7}\s*", re.IGNORECASE)
_END = r"(?=$|[._+~^])"
_DIST_TAGS = (
    (re.compile(r"[.+]fc(\d{1,4})" + _END), "fedora-{}"),
    (re.compile(r"module_f(\d{1,4})" + _END), "fedora-{}"),
    (re.compile(r"\.azl(\d{1,3})" + _END), "azurelinux-{}.0"),
    (re.compile(r"\.cm(\d{1,3})" + _END), "mariner-{}.0"),
    (re.compile(r"[.+]el(\d{1,3})(?:_\d+)*" + _END), "rhel-{}"),
)
_RPM_NAME = re.compile(r"[A-Za-z0-9._+\-]{1,256}")
_RPM_FIELD = re.compile(r"[A-Za-z0-9._+~^]{1,256}")
_RPM_ARCH = re.compile(r"[A-Za-z0-9_]{0,32}")
_LEADING_SPACE = re.compile(rb"\s*")


def parse(data: bytes, *, limits: FeedLimits = _DEFAULT_LIMITS, name: str = "") -> FeedParse:
    """The advisories of an updateinfo document, one per `<update>`, with a RecordError for
    each update that cannot be read. Raises FeedError when the document is not updateinfo
    XML at all (empty, JSON, another root element, DTDs or entities, broken compression)."""
    root = xml_document(data, limits, expected="updates", what="an updateinfo document", name=name)
    updates = [child for child in root if local_name(child.tag) == "update"]
    if len(updates) > limits.max_records:
        raise named(
            FeedError(
                f"the document has {len(updates):,} <update> records; the limit is "
                f"{limits.max_records:,} (max_records)"
            ),
            name,
        )
    result = FeedParse()
    for position, element in enumerate(updates, start=1):
        result.records_seen += 1
        _read_update(element, position, limits, result)
    return result


def _read_update(element: ET.Element, position: int, limits: FeedLimits, out: FeedParse) -> None:
    """Append the update's advisory (and any date problems) or its RecordError to `out`."""
    where = f"update[{position}]"
    raw_id = " ".join("".join(_child_or_empty(element, "id").itertext()).split())[:100]
    if raw_id:
        where += f" ({raw_id})"
    problems: list[str] = []
    try:
        advisory = _advisory(element, limits, problems)
    except FeedError:
        raise
    except ValueError as exc:
        out.errors.append(RecordError(where, str(exc)))
        return
    out.advisories.append(advisory)
    out.errors.extend(RecordError(where, problem) for problem in problems)


def _advisory(element: ET.Element, limits: FeedLimits, problems: list[str]) -> Advisory:
    """The Advisory for one `<update>`; ValueError when it cannot be read. Dates that cannot
    be read are left out and described in `problems`."""
    external_id = child_text(element, "id", limits)
    if not external_id:
        raise ValueError("the update has no <id>")
    if len(external_id) > 256 or any(c.isspace() for c in external_id):
        raise ValueError(f"the update id {external_id[:64]!r} is not an advisory id")
    issued = _element_date(element, "issued", problems)
    references = list(children(_child_or_empty(element, "references"), "reference"))
    advisory = Advisory(
        source=SOURCE,
        external_id=external_id,
        title=" ".join(child_text(element, "title", limits).split()),
        description=child_text(element, "description", limits),
        kind=_kind(element.get("type")),
        severity=severity(child_text(element, "severity", limits)),
        published_at=issued,
        modified_at=_element_date(element, "updated", problems),
        aliases=_aliases(references, external_id, limits),
        references=web_links(attr(ref, "href", limits) for ref in references),
    )
    advisory.affected = _affected(element, issued, limits)
    return advisory


def _kind(value: str | None) -> str:
    """The Advisory.kind for an update `type` attribute."""
    kind = (value or "").strip().lower()
    return kind if kind in _KINDS else "unspecified"


def _element_date(element: ET.Element, tag: str, problems: list[str]) -> datetime | None:
    """The `date` attribute of the `<tag>` child; None when absent, or when malformed (then a
    note is added to `problems`)."""
    child = _child(element, tag)
    if child is None or not (child.get("date") or "").strip():
        return None
    value = child.get("date", "")
    try:
        return feed_datetime(value)
    except ValueError:
        problems.append(
            f"<{tag} date={value[:64]!r}> is not a date; the advisory is kept without its "
            f"{tag} date"
        )
        return None


def _aliases(references: list[ET.Element], own_id: str, limits: FeedLimits) -> tuple[str, ...]:
    """The sorted CVE ids the references name (not counting the update's own id)."""
    found: set[str] = set()
    for reference in references:
        ref_id = attr(reference, "id", limits)
        if (reference.get("type") or "").strip().lower() == "cve":
            found |= cve_ids(ref_id, attr(reference, "title", limits))
        elif _CVE_EXACT.fullmatch(ref_id):
            found |= cve_ids(ref_id)
    found.discard(own_id.upper())
    return tuple(sorted(found))


def _affected(element: ET.Element, issued: datetime | None, limits: FeedLimits) -> list[Affected]:
    """One Affected per distinct (name, distro, fixed_version, module) in the `<pkglist>`."""
    rows: dict[tuple[str, str, str, str], Affected] = {}
    arches: dict[tuple[str, str, str, str], set[str]] = {}
    for collection in children(_child_or_empty(element, "pkglist"), "collection"):
        product = attr(collection, "short", limits).strip() or " ".join(
            child_text(collection, "name", limits).split()
        )
        module = _module(collection, limits)
        for package in children(collection, "package"):
            row = _package_row(package, product, module, issued, limits)
            key = (row.name, row.distro, row.fixed_version, row.module)
            rows.setdefault(key, row)
            arches.setdefault(key, set()).add(row.arch)
    for key, row in rows.items():
        row.arch = next(iter(arches[key])) if len(arches[key]) == 1 else ""
    return list(rows.values())


def _module(collection: ET.Element, limits: FeedLimits) -> str:
    """ "name:stream" of the collection's `<module>`, "" when it has none."""
    module = _child(collection, "module")
    if module is None:
        return ""
    name, stream = attr(module, "name", limits).strip(), attr(module, "stream", limits).strip()
    if not _RPM_NAME.fullmatch(name) or not _RPM_NAME.fullmatch(stream):
        raise ValueError(f"<module name={name[:64]!r} stream={stream[:64]!r}> is incomplete")
    return f"{name}:{stream}"


def _package_row(
    package: ET.Element, product: str, module: str, issued: datetime | None, limits: FeedLimits
) -> Affected:
    """The Affected row for one `<package>`; ValueError when a NEVRA field is missing or bad."""
    name = attr(package, "name", limits).strip()
    if not _RPM_NAME.fullmatch(name):
        raise ValueError(f"<package name={name[:64]!r}> is not an rpm package name")
    release = attr(package, "release", limits).strip()
    fixed = rpm_evr(
        attr(package, "epoch", limits), attr(package, "version", limits).strip(), release
    )
    arch = attr(package, "arch", limits).strip()
    if not _RPM_ARCH.fullmatch(arch):
        raise ValueError(f"<package name={name!r} arch={arch[:64]!r}> is not an rpm arch")
    return Affected(
        package_type="rpm",
        name=name,
        distro=rpm_distro(release),
        vers=vers("rpm", "<" + fixed),
        fixed_version=fixed,
        fix_available_at=issued,
        status="affected",
        product=product,
        arch=arch,
        module=module,
    )


# Helpers shared with the Bodhi and OVAL parsers.


def xml_document(
    data: bytes, limits: FeedLimits, *, expected: str, what: str, name: str
) -> ET.Element:
    """The root element of `data` (decompressed, parsed with DTDs and entities refused),
    checked to be `<expected>`; FeedError naming `what` the document should have been."""
    try:
        text = decompress(data, limits)
        start = _LEADING_SPACE.match(text)
        head = text[start.end() if start else 0 :][:1]
        if not head:
            raise FeedError(f"not {what}: the document is empty")
        if head in (b"{", b"["):
            raise FeedError(f"not {what}: the document is JSON, expected XML <{expected}>")
        root = feed_xml(text, limits)
    except FeedError as exc:
        raise named(exc, name) from None
    found = local_name(root.tag)
    if found != expected:
        raise named(
            FeedError(f"not {what}: the root element is <{found}>, expected <{expected}>"), name
        )
    return root


def named(error: FeedError, name: str) -> FeedError:
    """`error` with the document's name in front of its message (the same error if no name)."""
    if not name:
        return error
    return FeedError(f"{name[:200]}: {error.message}", location=error.location)


def feed_datetime(value: object) -> datetime:
    """`common.parse_datetime(value)`, with out-of-range POSIX seconds also reported as
    ValueError (never OverflowError / OSError)."""
    try:
        return parse_datetime(value)
    except (OverflowError, OSError):
        raise ValueError(f"{str(value)[:64]!r} is not a date") from None


def cve_ids(*texts: str) -> set[str]:
    """The CVE ids (upper-case) named anywhere in `texts`."""
    return {match.group(0).upper() for text in texts for match in _CVE.finditer(text)}


def web_links(values: Iterable[str]) -> tuple[str, ...]:
    """The http(s) URLs among `values`, stripped, without duplicates, in their order."""
    links: dict[str, None] = {}
    for value in values:
        link = value.strip()
        if link.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in link):
            links[link] = None
    return tuple(links)


def rpm_distro(release: str) -> str:
    """The purl distro ("fedora-40", "azurelinux-3.0", "mariner-2.0", "rhel-9") of the last
    dist tag in an rpm release (or EVR); "" when it has none of the known tags."""
    best_at, best = -1, ""
    for pattern, template in _DIST_TAGS:
        for match in pattern.finditer(release):
            if match.start() > best_at:
                best_at, best = match.start(), template.format(int(match.group(1)))
    return best


def rpm_evr(epoch: object, version: str, release: str) -> str:
    """ "E:V-R", or "V-R" when the epoch is absent or 0 (a release of "" gives "V" / "E:V");
    ValueError when the epoch is not a non-negative integer or version/release hold
    characters rpm does not allow."""
    if isinstance(epoch, bool) or not isinstance(epoch, int | str | None):
        raise ValueError(f"the epoch {str(epoch)[:32]!r} is not a number")
    text = "" if epoch is None else str(epoch).strip()
    if text and not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise ValueError(f"the epoch {text[:32]!r} is not a number")
    if not _RPM_FIELD.fullmatch(version):
        raise ValueError(f"the version {version[:64]!r} is not an rpm version")
    if release and not _RPM_FIELD.fullmatch(release):
        raise ValueError(f"the release {release[:64]!r} is not an rpm release")
    evr = f"{version}-{release}" if release else version
    return f"{int(text)}:{evr}" if text and int(text) != 0 else evr


def checked(value: str, what: str, limits: FeedLimits) -> str:
    """`value` when within `limits.max_string` characters, else ValueError naming `what`."""
    if len(value) > limits.max_string:
        raise ValueError(
            f"{what} is {len(value):,} characters; the limit is {limits.max_string:,} (max_string)"
        )
    return value


def attr(element: ET.Element, key: str, limits: FeedLimits) -> str:
    """The attribute `key` of `element` ("" when absent), bounded by `limits.max_string`."""
    return checked(element.get(key) or "", f"the {key}= attribute", limits)


def child_text(element: ET.Element, tag: str, limits: FeedLimits) -> str:
    """The stripped text of the first child named `tag` ("" when there is none)."""
    child = _child(element, tag)
    if child is None:
        return ""
    return checked("".join(child.itertext()), f"<{tag}>", limits).strip()


def children(element: ET.Element, tag: str) -> Iterator[ET.Element]:
    """The children of `element` whose local name is `tag`, whatever their namespace."""
    return (child for child in element if local_name(child.tag) == tag)


def _child(element: ET.Element, tag: str) -> ET.Element | None:
    """The first child named `tag`, or None."""
    return next(children(element, tag), None)


def _child_or_empty(element: ET.Element, tag: str) -> ET.Element:
    """The first child named `tag`, or an empty element standing in for it."""
    child = _child(element, tag)
    return child if child is not None else ET.Element(tag)
