"""CSAF 2.0 advisories and VEX documents (Red Hat RHSA/RHBA/RHEA and per-CVE VEX files, other
vendors' CSAF), one Advisory per document; and the provider's changes.csv / deletions.csv
indexes that drive incremental sync.

How a document is read (choices CSAF leaves open):

- kind: a Red Hat id (RHSA/RHBA/RHEA-YYYY:N) decides (security/bugfix/enhancement), whatever
  `document.category` says: Red Hat labels some RHSAs `csaf_vex`. Otherwise csaf_vex -> vex,
  csaf_security_advisory -> security, anything else -> unspecified.
- withdrawn_at stays None: CSAF 2.0 has no withdrawal (tracking.status draft/interim/final
  says nothing about it); Red Hat removes a withdrawn document and lists it in deletions.csv.
- severity: `document.aggregate_severity.text` only. cvss_vector/cvss_score: the highest CVSS
  v3.x base score among all vulnerabilities. milestones: "public" and "discovered", the earliest
  `release_date` / `discovery_date` of the vulnerabilities (Red Hat: the CVE's public date).
- records_seen counts the entries of `vulnerabilities`; errors are finer (one per bad entry,
  product reference, relationship or product).

Affected rows, from each vulnerability's product_status (statuses in `_STATUSES`):

- A product id is resolved through the relationships ("X as a component of Y", nested for
  module streams) to the component and the products it belongs to. The first of those with a
  CPE gives `distro`: enterprise_linux:N and rhel_els:N -> rhel-N (ELS is RHEL N's extended
  life; hosts still report RHEL N), rhel_eus/aus/e4s/tus:N.M -> rhel-N.M; anything else "".
  Only rpm rows get a distro.
- The component's purl gives type, name, version, epoch, arch, module (rpmmod); without a purl
  a Red Hat NEVRA product id (`tomcat-1:9.0.87-1.el8_10.1.noarch`) makes an rpm; a bare name
  under a RHEL platform (Red Hat VEX: `kernel`, `log4j:2/log4j`) an rpm without version;
  anything else is `generic`, named after its product_name branch (version: its
  product_version branch) or else its own name.
- fixed: with a version of an ordered scheme (rpm, maven, ...), status "affected", vers
  "<version", fixed_version the version (rpm: EVR, epoch only when non-zero). Without a version,
  or with one that has no order (an oci digest, a generic product), status "fixed" and no vers.
  fix_available_at: the earliest vendor_fix remediation date covering the product id, else the
  document's initial_release_date.
- fixed also takes first_fixed and recommended. known_affected (and first_/last_affected): vers
  "" (or the product_version_range when it is a vers string, as Siemens writes), justification
  the covering remediation's category (no_fix_planned before none_available, vendor_fix,
  mitigation, workaround). known_not_affected: justification from flags. under_investigation:
  the status alone. A product id the tree does not define is a RecordError.
- Left out: -debuginfo/-debugsource packages; module (rpmmod) products themselves; src rows
  whenever the same vulnerability and status has binary rows (source-only lists are kept, with
  arch "src").
- Rows that differ only by arch (and product id) are merged: one row, arch "" when the arches
  differ, product the first merged id. The same merge removes rows repeated by several CVEs.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from evidence.feeds.common import decompress, feed_json, parse_datetime, severity, vers
from evidence.feeds.csaf_tree import (
    _MAX_ID,
    _MAX_URL,
    _array,
    _Bad,
    _member,
    _object,
    _Package,
    _package,
    _text,
    _Tree,
)
from evidence.feeds.model import Advisory, Affected, FeedError, FeedLimits, FeedParse, RecordError
from evidence.sbom.jsondoc import json_type

SOURCE = "redhat-csaf"

# product_status list -> Affected.status; CSAF's "first_fixed"/"recommended" are fixed versions
_STATUSES = (
    ("fixed", "fixed"), ("first_fixed", "fixed"), ("recommended", "fixed"),
    ("known_affected", "affected"), ("first_affected", "affected"), ("last_affected", "affected"),
    ("known_not_affected", "not_affected"), ("under_investigation", "under_investigation"),
)  # fmt: skip
# Which remediation explains a known_affected row best, most telling first.
_REMEDIATION_ORDER = ("no_fix_planned", "none_available", "vendor_fix", "mitigation", "workaround")
_RED_HAT_KIND = {"RHSA": "security", "RHBA": "bugfix", "RHEA": "enhancement"}
_RED_HAT_ID = re.compile(r"(RH[SBE]A)-\d{4}:\d+")
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
# purl types whose versions have an order that vers ranges can use
_ORDERED_TYPES = frozenset(
    {"rpm", "deb", "apk", "maven", "pypi", "npm", "gem", "golang", "cargo", "nuget", "composer"}
)
_DEBUG_PACKAGE = re.compile(r"-debug(?:info|source)(?:-common-\w+)?$")
_MAX_NAME = 255  # package names, the advisory id (the database columns' size)
_INDEX_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(?:/[A-Za-z0-9][A-Za-z0-9._+-]*)*")


def _date(value: object, path: str) -> datetime:
    """A timezone-aware datetime from a date string, or _Bad naming the value."""
    if not isinstance(value, str):
        raise _Bad(path, f"is not a date string (found {json_type(value)})")
    return _date_text(value, path)


def _date_text(value: str, where: str) -> datetime:
    """`parse_datetime` of a string; _Bad also for the digit strings that overflow it."""
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise _Bad(where, str(exc)) from None
    except (OverflowError, OSError):
        raise _Bad(where, f"{value[:64]!r} is not a date") from None


# --- what the document is -------------------------------------------------------------------


def _other_format(root: dict[str, Any]) -> str:
    """What a JSON object without a CSAF `document` is, when it is a format people mistake for
    a CSAF advisory; "" otherwise."""
    if "openvex" in str(root.get("@context", "")).lower():
        return "this is an OpenVEX document, not CSAF (CSAF VEX documents have a 'document' object)"
    if "canonical_url" in root and "metadata_version" in root:
        return (
            "this is a CSAF provider-metadata.json, which says where a provider publishes "
            "advisories; it is not an advisory"
        )
    if isinstance(root.get("feed"), dict):
        return "this is a ROLIE feed, a list of links to CSAF advisories; it is not an advisory"
    if root.get("format") == "NVD_CVE":
        return "this is an NVD CVE API response, not CSAF"
    if root.get("dataType") == "CVE_RECORD" or "cveMetadata" in root:
        return "this is a CVE JSON 5 record, not CSAF"
    if "bomFormat" in root or "spdxVersion" in root:
        return "this is an SBOM (CycloneDX or SPDX), not CSAF"
    if isinstance(root.get("id"), str) and ("affected" in root or "modified" in root):
        return "this is an OSV record, not CSAF"
    return ""


def _csaf_document(root: object) -> dict[str, Any]:
    """The `document` object of a CSAF 2.0 document; FeedError saying what `root` is otherwise."""
    if not isinstance(root, dict):
        raise FeedError(
            f"not a CSAF document: the top level is {json_type(root)}, expected an object "
            "with a 'document' member",
            location="$",
        )
    if not isinstance(root.get("document"), dict):
        what = _other_format(root)
        if what:
            raise FeedError(f"not a CSAF advisory: {what}", location="$")
        members = ", ".join(sorted(str(k)[:40] for k in root)[:6]) or "none"
        raise FeedError(
            f"not a CSAF document: no 'document' object at the top level (members: {members})",
            location="$",
        )
    document: dict[str, Any] = root["document"]
    version = document.get("csaf_version")
    if version != "2.0":
        found = f"{version!r}" if isinstance(version, str) else json_type(version)
        raise FeedError(
            f"CSAF version {found} is not supported: this parser reads CSAF 2.0 "
            "(CSAF 2.1 is a different schema)",
            location="$.document.csaf_version",
        )
    return document


# --- vulnerabilities ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Statement:
    """One product id with one status, as a vulnerability states it."""

    package: _Package
    status: str
    product: str
    fixed_at: datetime | None
    justification: str


@dataclass
class _Reader:
    """Reads the vulnerabilities of one document against its product tree."""

    tree: _Tree
    published: datetime | None
    errors: list[RecordError]
    statements_left: int

    def vulnerability(self, value: object, path: str) -> list[_Statement]:
        """The statements of one vulnerability (bad product references reported and left
        out), or _Bad when the vulnerability itself is malformed."""
        vuln = _object(value, path)
        cve = _member(vuln, "cve", path, limit=64, required=False)
        if cve and not _CVE.fullmatch(cve):
            raise _Bad(f"{path}.cve", f"{cve!r} is not a CVE id")
        status_lists = _object(vuln.get("product_status") or {}, f"{path}.product_status")
        fix_dates, categories = self.remediations(vuln, path)
        flags = self.flags(vuln, path)
        statements: list[_Statement] = []
        for key, status in _STATUSES:
            here = f"{path}.product_status.{key}"
            found: list[_Statement] = []
            for index, product_id in enumerate(_array(status_lists.get(key), here)):
                statement = self.statement(product_id, f"{here}[{index}]", status)
                if statement is None:
                    continue
                if status == "fixed":
                    fixed_at = fix_dates.get(statement.product, self.published)
                    statement = replace(statement, fixed_at=fixed_at)
                elif status == "affected":
                    justification = categories.get(statement.product, "")
                    statement = replace(statement, justification=justification)
                elif status == "not_affected":
                    statement = replace(statement, justification=flags.get(statement.product, ""))
                found.append(statement)
            statements.extend(_without_source_rows(found))
        return statements

    def statement(self, product_id: object, path: str, status: str) -> _Statement | None:
        """The statement for one product id of a product_status list; None (reported when
        new) when the id names nothing usable, or a package this parser leaves out."""
        self.statements_left -= 1
        if self.statements_left < 0:
            raise FeedError(
                "the document states more products than max_records allows",
                location="$.vulnerabilities",
            )
        try:
            text = _text(product_id, path, limit=_MAX_ID)
            chain = self.tree.resolve(text)
            if isinstance(chain, str):
                if chain:
                    raise _Bad(path, chain)
                return None
            package = _package(chain)
            if package is None or (
                package.package_type == "rpm" and _DEBUG_PACKAGE.search(package.name)
            ):
                return None
            _text(package.name, path, limit=_MAX_NAME)
        except _Bad as bad:
            self.errors.append(RecordError(bad.path, bad.message))
            return None
        return _Statement(package, status, text, None, "")

    def remediations(
        self, vuln: dict[str, Any], path: str
    ) -> tuple[dict[str, datetime], dict[str, str]]:
        """(earliest vendor_fix date, most telling remediation category) per product id."""
        fix_dates: dict[str, datetime] = {}
        categories: dict[str, str] = {}
        for index, item in enumerate(_array(vuln.get("remediations"), f"{path}.remediations")):
            here = f"{path}.remediations[{index}]"
            remediation = _object(item, here)
            category = _member(remediation, "category", here, limit=64)
            when = None
            if category == "vendor_fix" and remediation.get("date") is not None:
                try:
                    when = _date(remediation["date"], f"{here}.date")
                except _Bad as bad:
                    self.errors.append(RecordError(bad.path, bad.message))
            for product_id in self.tree.expand(remediation):
                if when is not None and (
                    product_id not in fix_dates or when < fix_dates[product_id]
                ):
                    fix_dates[product_id] = when
                categories[product_id] = _more_telling(categories.get(product_id), category)
        return fix_dates, categories

    def flags(self, vuln: dict[str, Any], path: str) -> dict[str, str]:
        """The first flag label per product id (the VEX not_affected justification)."""
        labels: dict[str, str] = {}
        for index, item in enumerate(_array(vuln.get("flags"), f"{path}.flags")):
            here = f"{path}.flags[{index}]"
            flag = _object(item, here)
            label = _member(flag, "label", here, limit=_MAX_NAME)
            for product_id in self.tree.expand(flag):
                labels.setdefault(product_id, label)
        return labels


def _more_telling(current: str | None, new: str) -> str:
    """Of two remediation categories, the one that explains an unfixed product better."""
    if current is None:
        return new
    rank = {name: index for index, name in enumerate(_REMEDIATION_ORDER)}
    return new if rank.get(new, 99) < rank.get(current, 99) else current


def _without_source_rows(statements: list[_Statement]) -> list[_Statement]:
    """`statements` without rpm src rows when binary rows are among them (a source-only list,
    such as a trimmed document, is kept)."""

    def is_source(statement: _Statement) -> bool:
        return statement.package.package_type == "rpm" and statement.package.arch == "src"

    if all(is_source(s) for s in statements):
        return statements
    return [s for s in statements if not is_source(s)]


def _merged(statements: Iterable[_Statement]) -> list[Affected]:
    """One Affected row per group of statements that differ only by arch and product id: arch
    "" when the arches differ, product the first id. Document order is kept."""
    rows: dict[tuple[Any, ...], Affected] = {}
    for statement in statements:
        package = statement.package
        key = (
            replace(package, arch=""),
            statement.status,
            statement.fixed_at,
            statement.justification,
        )
        row = rows.get(key)
        if row is None:
            rows[key] = _row(statement)
        elif row.arch != package.arch:
            row.arch = ""
    return list(rows.values())


def _row(statement: _Statement) -> Affected:
    """The Affected row of one statement."""
    package = statement.package
    row = Affected(
        package_type=package.package_type,
        namespace=package.namespace,
        name=package.name,
        distro=package.distro,
        status=statement.status,
        product=statement.product,
        arch=package.arch,
        module=package.module,
        justification=statement.justification,
    )
    if statement.status == "fixed":
        row.fixed_version = package.version
        row.fix_available_at = statement.fixed_at
        if package.version and package.package_type in _ORDERED_TYPES:
            row.status = "affected"
            row.vers = vers(package.package_type, "<" + package.version)
    elif statement.status == "affected":
        row.vers = package.vers
    return row


# --- the document ---------------------------------------------------------------------------


def parse(data: bytes, *, limits: FeedLimits = FeedLimits(), name: str = "") -> FeedParse:
    """The one Advisory of a CSAF 2.0 document (gzip/xz/zstd accepted), with its affected rows.

    Raises FeedError when the document is not CSAF 2.0, is another kind of file (OpenVEX,
    provider-metadata, ROLIE feed, OSV, NVD, CVE 5 ...), lacks document.tracking.id, or names
    products without a product_tree. A malformed vulnerability, product, relationship or
    product reference is a RecordError in `errors`; everything else is still read."""
    try:
        raw = decompress(data, limits)
        if raw[:256].lstrip().startswith(b"<"):
            raise FeedError("not a CSAF document: this is XML; CSAF documents are JSON")
        root = feed_json(raw, limits)
        return _parse_document(root, _csaf_document(root), limits)
    except FeedError as exc:
        if not name:
            raise
        where = f"{name}, {exc.location}" if exc.location else name
        raise FeedError(exc.message, location=where) from None


def _parse_document(
    root: dict[str, Any], document: dict[str, Any], limits: FeedLimits
) -> FeedParse:
    result = FeedParse()
    try:
        advisory = _advisory(document, limits, result.errors)
        vulnerabilities = _array(root.get("vulnerabilities"), "$.vulnerabilities")
        tree = _Tree(result.errors)
        if root.get("product_tree") is not None:
            tree.read(_object(root["product_tree"], "$.product_tree"))
        elif any(_names_products(v) for v in vulnerabilities):
            raise _Bad("$.product_tree", "the vulnerabilities name products but there is none")
    except _Bad as bad:
        raise FeedError(
            f"not a usable CSAF document: {bad.path.removeprefix('$.')} {bad.message}",
            location=bad.path,
        ) from None
    if len(vulnerabilities) > limits.max_records:
        raise FeedError(
            f"{len(vulnerabilities):,} vulnerabilities; the limit is {limits.max_records:,} "
            "(max_records)",
            location="$.vulnerabilities",
        )
    reader = _Reader(tree, advisory.published_at, result.errors, limits.max_records)
    statements: list[_Statement] = []
    for index, vuln in enumerate(vulnerabilities):
        result.records_seen += 1
        try:
            statements.extend(reader.vulnerability(vuln, f"$.vulnerabilities[{index}]"))
        except _Bad as bad:
            result.errors.append(RecordError(bad.path, bad.message))
    _vulnerability_facts(advisory, vulnerabilities)
    advisory.affected = _merged(statements)
    result.advisories.append(advisory)
    status = document["tracking"].get("status")
    status = status if isinstance(status, str) and len(status) <= 32 else "?"
    result.note = f"{document.get('category')}, tracking status {status}"
    return result


def _names_products(vuln: object) -> bool:
    """Whether a vulnerability's product_status lists any product id."""
    if not isinstance(vuln, dict) or not isinstance(vuln.get("product_status"), dict):
        return False
    return any(isinstance(ids, list) and ids for ids in vuln["product_status"].values())


def _advisory(document: dict[str, Any], limits: FeedLimits, errors: list[RecordError]) -> Advisory:
    """The advisory's own fields from `document`; _Bad for what makes it unusable."""
    category = _member(document, "category", "$.document", limit=_MAX_NAME)
    tracking = _object(document.get("tracking"), "$.document.tracking")
    try:
        external_id = _member(tracking, "id", "$.document.tracking", limit=_MAX_NAME).strip()
    except _Bad as bad:
        hint = " (an unfilled template?)" if tracking.get("id") == "" else ""
        raise _Bad(bad.path, f"{bad.message}{hint}") from None
    aggregate = _object(document.get("aggregate_severity") or {}, "$.document.aggregate_severity")
    advisory = Advisory(
        source=SOURCE,
        external_id=external_id,
        title=_member(document, "title", "$.document", limit=limits.max_string, required=False),
        kind=_kind(external_id, category),
        severity=severity(aggregate.get("text")),
        references=_references(document.get("references")),
    )
    advisory.title = advisory.title.strip()
    advisory.description = _description(document.get("notes"), limits, errors)
    for key, attribute in (
        ("initial_release_date", "published_at"),
        ("current_release_date", "modified_at"),
    ):
        path = f"$.document.tracking.{key}"
        try:
            setattr(advisory, attribute, _date(tracking.get(key), path))
        except _Bad as bad:
            errors.append(RecordError(bad.path, bad.message))
    return advisory


def _kind(external_id: str, category: str) -> str:
    """Advisory.kind: from a Red Hat id when there is one, else from the CSAF category."""
    match = _RED_HAT_ID.fullmatch(external_id)
    if match:
        return _RED_HAT_KIND[match.group(1)]
    return {"csaf_vex": "vex", "csaf_security_advisory": "security"}.get(category, "unspecified")


def _references(value: object) -> tuple[str, ...]:
    """The http(s) URLs of document.references, in order, without repeats."""
    urls: dict[str, None] = {}
    for item in value if isinstance(value, list) else ():
        url = item.get("url") if isinstance(item, dict) else None
        if (
            isinstance(url, str)
            and url.startswith(("https://", "http://"))
            and len(url) <= _MAX_URL
        ):
            urls.setdefault(url, None)
    return tuple(urls)


def _description(notes: object, limits: FeedLimits, errors: list[RecordError]) -> str:
    """The text of the first note of category summary, else description, else general."""
    texts: dict[str, tuple[int, str]] = {}
    for index, note in enumerate(notes if isinstance(notes, list) else ()):
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            texts.setdefault(str(note.get("category")), (index, note["text"]))
    for category in ("summary", "description", "general"):
        if category in texts:
            index, text = texts[category]
            if len(text) > limits.max_string:
                errors.append(
                    RecordError(
                        f"$.document.notes[{index}].text",
                        f"is {len(text):,} characters long (max_string); left out",
                    )
                )
                return ""
            return text.strip()
    return ""


def _vulnerability_facts(advisory: Advisory, vulnerabilities: list[Any]) -> None:
    """Aliases, the highest CVSS v3 score and the public/discovered milestones."""
    aliases: set[str] = set()
    dates: dict[str, datetime] = {}
    for vuln in vulnerabilities:
        if not isinstance(vuln, dict):
            continue
        cve = vuln.get("cve")
        if isinstance(cve, str) and _CVE.fullmatch(cve) and cve != advisory.external_id:
            aliases.add(cve)
        for key, milestone in (("release_date", "public"), ("discovery_date", "discovered")):
            try:
                when = _date(vuln.get(key), key)
            except _Bad:
                continue
            if milestone not in dates or when < dates[milestone]:
                dates[milestone] = when
        for score, vector in _cvss_v3(vuln.get("scores")):
            if advisory.cvss_score is None or score > advisory.cvss_score:
                advisory.cvss_score, advisory.cvss_vector = score, vector
    advisory.aliases = tuple(sorted(aliases))
    advisory.milestones = dates


def _cvss_v3(scores: object) -> Iterator[tuple[float, str]]:
    """(base score, vector) of each well-formed CVSS v3.x score; others are passed over."""
    for item in scores if isinstance(scores, list) else ():
        cvss = item.get("cvss_v3") if isinstance(item, dict) else None
        if not isinstance(cvss, dict):
            continue
        score, vector = cvss.get("baseScore"), cvss.get("vectorString")
        if (
            isinstance(score, int | float)
            and not isinstance(score, bool)
            and 0.0 <= score <= 10.0
            and isinstance(vector, str)
            and vector.startswith("CVSS:3.")
            and len(vector) <= _MAX_NAME
        ):
            yield float(score), vector


# --- changes.csv / deletions.csv ------------------------------------------------------------


def parse_changes_csv(
    data: bytes, *, limits: FeedLimits = FeedLimits()
) -> list[tuple[str, datetime]]:
    """(path, timestamp) of each row of a CSAF provider's changes.csv, in file order (Red Hat
    writes newest first, but that is not checked). Paths are relative to the index's folder.
    Raises FeedError naming the line of a malformed row; an empty file is an empty list."""
    return _index_csv(data, "changes.csv", limits)


def parse_deletions_csv(
    data: bytes, *, limits: FeedLimits = FeedLimits()
) -> list[tuple[str, datetime]]:
    """(path, timestamp) of each row of a CSAF provider's deletions.csv (the documents it
    removed), in file order. Raises FeedError naming the line of a malformed row."""
    return _index_csv(data, "deletions.csv", limits)


def _index_csv(data: bytes, what: str, limits: FeedLimits) -> list[tuple[str, datetime]]:
    raw = decompress(data, limits)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FeedError(f"{what} is not UTF-8", location=f"line {line}") from None
    rows: list[tuple[str, datetime]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            if not row or row == [""]:
                continue
            rows.append(_index_row(row, what, reader.line_num))
            if len(rows) > limits.max_records:
                raise FeedError(f"{what} has more than {limits.max_records:,} rows (max_records)")
    except csv.Error as exc:
        raise FeedError(
            f"{what} is not valid CSV: {exc}", location=f"line {reader.line_num}"
        ) from None
    return rows


def _index_row(row: list[str], what: str, line: int) -> tuple[str, datetime]:
    """One ("path", "timestamp") row, or FeedError naming its line."""
    where = f"line {line}"
    if len(row) != 2:
        raise FeedError(
            f'{what} rows have 2 fields ("path","timestamp"), this one has {len(row)}',
            location=where,
        )
    path, stamp = row[0].strip(), row[1].strip()
    if len(path) > _MAX_ID or not _INDEX_PATH.fullmatch(path) or ".." in path.split("/"):
        raise FeedError(
            f"{what}: {path[:100]!r} is not a relative document path such as "
            "2024/rhsa-2024_0010.json",
            location=where,
        )
    try:
        return path, _date_text(stamp, where)
    except _Bad as bad:
        raise FeedError(f"{what}: {bad.message}", location=where) from None
