"""OSV records (https://ossf.github.io/osv-schema/): one JSON record, a JSON array of records,
an OSV API answer (`{"vulns": [...]}`), a YAML record (the pypa advisory-database form) or an
ecosystem's `all.zip`; gzip, xz and zstd wrappers are undone first.

One Advisory per record:

* `external_id` = `id`, `title` = `summary`, `description` = `details` (both cut to
  `max_string`), `published_at`, `modified_at` (OSV requires `modified`: a record without it is
  a RecordError), `withdrawn_at`, `references` = the reference URLs in order, without repeats.
* `aliases` = `aliases` + `upstream` (OSV 1.7); distro advisories written before `upstream`
  existed (AlmaLinux, Rocky, older Red Hat) list the CVEs they fix under `related`, so the CVE
  ids in `related` are added too when the record names no CVE otherwise and is not a CVE record
  itself.
* `kind` "security" (MAL-* malicious-package records too), except "bugfix" / "enhancement" for
  distro errata ids saying so (RHBA/ALBA/RLBA/ELBA, RHEA/ALEA/RLEA/ELEA).
* `severity`: `database_specific.severity` (GHSA), else an affected package's
  `ecosystem_specific` / `database_specific` severity, else a `severity[]` entry of type
  "Ubuntu", else the "Important:" prefix of a distro advisory's summary. `cvss_vector` is the
  CVSS_V4 vector if there is one, else the CVSS_V3 one; no score is computed from it
  (`cvss_score` is set only when the record gives a number).

Affected rows: one per introduced..fixed (or ..last_affected, ..limit) pair of every ECOSYSTEM
or SEMVER range, events taken in the order stated (pairing needs no version comparator, so
urllib3's "introduced 2.0.0, fixed 2.0.6, introduced 0, fixed 1.26.17" gives two correct rows).
An introduced with no end is an open row (`vers:pypi/>=1.0`, or `vers:pypi/*` from "0"). GIT
ranges name commits, not versions: they are skipped and counted in `FeedParse.note`; an entry
with no version range but an explicit `versions` list gets one row `vers:<type>/=v1|=v2...`
(at most 1000 versions, cut lists counted in the note); an entry with neither gets one row with
vers "" (every version). `fixed_version` is the pair's fixed version exactly as stated (Red
Hat/Rocky epochs kept); `fix_available_at` is the record's `published` time on rows with a fix,
the best date OSV gives (for distro errata it is the release date of the fix).

Package identity: the affected package's purl when given (type, namespace, name, arch,
`rpmmod`), else the ecosystem (see `_LANGUAGES` and `_distro`); the distribution release comes
from the ecosystem string ("Rocky Linux:9" -> `rocky-9`, "Red Hat:rhel_aus:8.6::appstream" ->
`rhel-8.6`). An ecosystem this module cannot map gives package type "generic" and distro "";
`product` always keeps the ecosystem string. The rpm module stream comes from an affected
entry's `ecosystem_specific` / `database_specific` "module", a purl `rpmmod` qualifier, or, for
module builds (".module+el9..." releases), the one `name:stream` token of an erratum synopsis
("Moderate: ruby:3.3 security update", as Rocky and AlmaLinux write it); Red Hat's own summaries
("Red Hat Security Advisory: python39:3.9 ...") do not list every stream, so none is guessed.

In a zip archive each file is one record (or an array of records); a file that cannot be read
or is not an OSV record is a RecordError whose location is the file name.

Documents of other formats (CSAF, CVE JSON 5, NVD, Debian tracker, KEV) are refused with a
FeedError naming what they look like. Reading documents and archives (and `describe_document`,
shared with the KEV and retired parsers) lives in `evidence.feeds.osv_documents`; this module
maps each record to an Advisory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from packageurl import PackageURL

from evidence.feeds.common import (
    ZIP_MAGIC,
    decompress,
    parse_datetime,
    severity,
    vers,
)
from evidence.feeds.model import Advisory, Affected, FeedLimits, FeedParse, RecordError
from evidence.feeds.osv_documents import load_document, read_document, read_zip
from evidence.sbom.jsondoc import gc_paused, json_type
from evidence.sbom.purls import purl_fast, purl_parse

SOURCE = "osv"

VERSIONS_CAP = 1000  # explicit versions kept per affected entry
_MAX_ID = 256
_MAX_NAME = 1024
_MAX_URL = 4096

_LANGUAGES = {
    "PyPI": "pypi",
    "npm": "npm",
    "Maven": "maven",
    "Go": "golang",
    "crates.io": "cargo",
    "NuGet": "nuget",
    "RubyGems": "gem",
    "Packagist": "composer",
    "Hex": "hex",
    "Pub": "pub",
    "Hackage": "hackage",
    "CRAN": "cran",
    "ConanCenter": "conan",
    "GitHub Actions": "githubactions",
}
_VERSION_ID = re.compile(r"[0-9][0-9A-Za-z._-]*")
_SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "none": 0}
_SUMMARY_SEVERITY = re.compile(r"(Critical|Important|Moderate|Low):\s")
_MODULE_TOKEN = re.compile(r"(?<![\w:/.+-])([A-Za-z0-9][\w.+-]*):([A-Za-z0-9][\w.+-]*)(?![\w:/])")
_ERRATA_KIND = (
    (re.compile(r"(?:RH|AL|RL|EL)BA-"), "bugfix"),
    (re.compile(r"(?:RH|AL|RL|EL)EA-"), "enhancement"),
)
_END_EVENTS = {"fixed": "<", "last_affected": "<=", "limit": "<"}
# Package names and namespaces that no purl encoding or parsing can change (see _canonical).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]+")
_PLAIN_NAMESPACE = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


class _Bad(Exception):
    """One record cannot be used; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Tally:
    """What was left out on purpose, for `FeedParse.note`."""

    records: int = 0
    git_ranges: int = 0
    cut_version_lists: int = 0
    entries: int = 0  # zip archive entries read

    def note(self, name: str) -> str:
        """A one-line summary, e.g. "3 OSV records; 2 GIT ranges skipped (...)"."""
        parts = [f"{self.records} OSV record{'' if self.records == 1 else 's'}"]
        if self.entries:
            parts[0] += f" from {self.entries} zip entries"
        if name:
            parts[0] += f" in {name[:200]}"
        if self.git_ranges:
            parts.append(
                f"{self.git_ranges} GIT range{'' if self.git_ranges == 1 else 's'} skipped "
                "(commit ranges carry no package versions)"
            )
        if self.cut_version_lists:
            parts.append(
                f"{self.cut_version_lists} explicit version list(s) cut to {VERSIONS_CAP} versions"
            )
        return "; ".join(parts)


class _Identity(NamedTuple):
    """Who an affected entry is about (see `Affected`). Immutable: one instance is shared by
    every entry naming the same package (see `_package_identity`)."""

    package_type: str
    name: str
    namespace: str = ""
    distro: str = ""
    arch: str = ""
    module: str = ""


@dataclass
class _Reader:
    """Reads records into `result`, counting what it skips in `tally`."""

    limits: FeedLimits
    result: FeedParse = field(default_factory=FeedParse)
    tally: _Tally = field(default_factory=_Tally)
    sink: Callable[[Advisory], None] | None = None  # takes each advisory instead of `result`

    def record(self, value: object, location: str, *, add_id: bool = True) -> None:
        """Adds the Advisory of one record, or a RecordError at `location` (followed by the
        record's id when `add_id` and the location does not already hold it)."""
        self.result.records_seen += 1
        record_id = value.get("id") if isinstance(value, dict) else None
        if add_id and isinstance(record_id, str) and record_id and record_id not in location:
            location = f"{location} ({record_id[:_MAX_ID]})" if location else record_id[:_MAX_ID]
        try:
            advisory, skipped = _advisory(value, self.limits)
        except _Bad as exc:
            self.result.errors.append(RecordError(location or "$", exc.message))
            return
        if self.sink is None:
            self.result.advisories.append(advisory)
        else:
            self.sink(advisory)
        self.tally.records += 1
        self.tally.git_ranges += skipped.git_ranges
        self.tally.cut_version_lists += skipped.cut_version_lists

    def error(self, location: str, message: str) -> None:
        """Counts one unreadable record (an archive entry) and records why."""
        self.result.records_seen += 1
        self.result.errors.append(RecordError(location, message))


def parse(data: bytes, *, limits: FeedLimits = FeedLimits(), name: str = "") -> FeedParse:
    """The advisories of an OSV document or archive (see the module docstring).

    Raises FeedError when the document as a whole is unusable: not JSON/YAML/zip, another
    format, a corrupt archive, over the limits. A bad record among good ones becomes a
    RecordError in `FeedParse.errors`."""
    return _parse(_Reader(limits), data, name)


def parse_stream(
    data: bytes, *, sink: Callable[[Advisory], None], limits: FeedLimits = FeedLimits(),
    name: str = "",
) -> FeedParse:  # fmt: skip
    """`parse`, handing each advisory to `sink` as soon as it is read (`advisories` of the
    result stays empty), so that storing can start before the last record is read. The
    FeedError of an unusable document may come after advisories were handed over: the caller
    undoes what it did with them (the sync stores them in a transaction it rolls back)."""
    return _parse(_Reader(limits, sink=sink), data, name)


def _parse(reader: _Reader, data: bytes, name: str) -> FeedParse:
    limits = reader.limits
    data = decompress(data, limits)  # checks max_bytes; a zip archive is returned as it is
    with gc_paused():  # many small objects, no cycles: the collector would only slow this down
        try:
            if data.startswith(ZIP_MAGIC):
                reader.tally.entries = read_zip(data, reader)
            else:
                read_document(load_document(data, limits), reader)
        finally:
            _identities.clear()
    reader.result.note = reader.tally.note(name)
    return reader.result


# --- records ----------------------------------------------------------------------------------


@dataclass
class _Skipped:
    git_ranges: int = 0
    cut_version_lists: int = 0


def _advisory(value: object, limits: FeedLimits) -> tuple[Advisory, _Skipped]:
    """The Advisory of one OSV record and what was skipped in it; _Bad if it is unusable."""
    if not isinstance(value, dict):
        raise _Bad(f"expected an OSV record (an object), found {json_type(value)}")
    record_id = _text(value.get("id"), "id", _MAX_ID)
    if not record_id:
        raise _Bad('the record has no "id"')
    modified = _time(value, "modified")
    if modified is None:
        raise _Bad('the record has no "modified" time (OSV requires one)')
    published = _time(value, "published")
    title = _long_text(value.get("summary"), "summary", limits)
    skipped = _Skipped()
    affected = _affected_rows(value, title, published, limits, skipped)
    vector, score = _cvss(value)
    advisory = Advisory(
        source=SOURCE,
        external_id=record_id,
        title=title,
        description=_long_text(value.get("details"), "details", limits),
        kind=_kind(record_id),
        severity=_severity(value, title),
        cvss_vector=vector,
        cvss_score=score,
        published_at=published,
        modified_at=modified,
        withdrawn_at=_time(value, "withdrawn"),
        aliases=_aliases(value, record_id),
        references=_references(value),
        affected=affected,
    )
    return advisory, skipped


def _text(value: object, where: str, limit: int) -> str:
    """`value` stripped if it is a string of at most `limit` characters ("" for null)."""
    if isinstance(value, str) and len(value) <= limit:
        return value.strip()
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(f'"{where}" must be a string, found {json_type(value)}')
    raise _Bad(f'"{where}" is {len(value):,} characters long; the limit is {limit:,}')


def _long_text(value: object, where: str, limits: FeedLimits) -> str:
    """A free-text field, cut to `max_string` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(f'"{where}" must be a string, found {json_type(value)}')
    return value[: limits.max_string].strip()


def _time(record: dict[str, Any], key: str) -> datetime | None:
    """The timestamp at `key` (None when absent); _Bad when it is not a date."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) == 20 and value[10] == "T" and value[19] == "Z":
        # The usual "YYYY-MM-DDTHH:MM:SSZ": parse_datetime would hand it to fromisoformat as
        # it is (UTC from the "Z"); only an error needs its message.
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    try:
        return parse_datetime(value)
    except (ValueError, OverflowError, OSError) as exc:
        raise _Bad(f'"{key}": {exc}') from None


def _strings(value: object, where: str, limit: int = _MAX_ID) -> list[str]:
    """A list of strings (empty ones dropped); _Bad for anything else."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f'"{where}" must be an array, found {json_type(value)}')
    item_where = f"{where}[]"
    strings = []
    for item in value:
        text = _text(item, item_where, limit)
        if text:
            strings.append(text)
    return strings


def _aliases(record: dict[str, Any], record_id: str) -> tuple[str, ...]:
    """Sorted ids naming the same issue: aliases, upstream, and the CVE ids of `related` when
    the record names no CVE otherwise (distro errata)."""
    names = set(_strings(record.get("aliases"), "aliases"))
    names.update(_strings(record.get("upstream"), "upstream"))
    related = _strings(record.get("related"), "related")
    if (
        related
        and not record_id.startswith("CVE-")
        and not any(n.startswith("CVE-") for n in names)
    ):
        names.update(r for r in related if r.startswith("CVE-"))
    names.discard(record_id)
    return tuple(sorted(names))


def _references(record: dict[str, Any]) -> tuple[str, ...]:
    """The reference URLs, in order, without repeats."""
    value = record.get("references")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Bad(f'"references" must be an array, found {json_type(value)}')
    urls: dict[str, None] = {}
    for item in value:
        if not isinstance(item, dict):
            raise _Bad(f'"references" entries must be objects, found {json_type(item)}')
        url = _text(item.get("url"), "references[].url", _MAX_URL)
        if url:
            urls[url] = None
    return tuple(urls)


def _kind(record_id: str) -> str:
    """ "bugfix"/"enhancement" for distro errata ids that say so, else "security"."""
    if record_id[2:4] not in ("BA", "EA"):  # cheap test first: most ids are not errata
        return "security"
    for pattern, kind in _ERRATA_KIND:
        if pattern.match(record_id):
            return kind
    return "security"


def _cvss(record: dict[str, Any]) -> tuple[str, float | None]:
    """(the CVSS v4 vector, else the v3 one, "" if none; a numeric score if one is given)."""
    entries = record.get("severity")
    if entries is None:
        entries = _first_affected_severity(record)
    if not isinstance(entries, list):
        raise _Bad(f'"severity" must be an array, found {json_type(entries)}')
    vectors: dict[str, str] = {}
    score: float | None = None
    for entry in entries:
        if not isinstance(entry, dict):
            raise _Bad(f'"severity" entries must be objects, found {json_type(entry)}')
        kind, value = entry.get("type"), entry.get("score")
        if kind in ("CVSS_V3", "CVSS_V4") and isinstance(value, str):
            vectors.setdefault(kind, _text(value, "severity[].score", 256))
        elif isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 10:
            score = float(value)
    return vectors.get("CVSS_V4") or vectors.get("CVSS_V3", ""), score


def _first_affected_severity(record: dict[str, Any]) -> object:
    """The `severity` list of the first affected entry that has one (OSV 1.4+), else []."""
    for entry in _list(record.get("affected"), "affected"):
        if isinstance(entry, dict) and entry.get("severity") is not None:
            return entry["severity"]
    return []


def _severity(record: dict[str, Any], title: str) -> str:
    """The record's severity word normalised (see the module docstring); "" when none."""
    specific = record.get("database_specific")
    word = severity(specific.get("severity")) if isinstance(specific, dict) else ""
    if word:
        return word
    words = []
    for entry in _list(record.get("affected"), "affected"):
        if isinstance(entry, dict):
            for key in ("ecosystem_specific", "database_specific"):
                specific = entry.get(key)
                if isinstance(specific, dict) and specific.get("severity") is not None:
                    word = severity(specific["severity"])
                    if word:
                        words.append(word)
    if words:
        return max(words, key=lambda w: _SEVERITY_RANK[w])
    entries = record.get("severity")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("type") == "Ubuntu":
            word = severity(entry.get("score"))
            if word:
                return word
    match = _SUMMARY_SEVERITY.match(title)
    return severity(match.group(1)) if match else ""


def _dict(value: object) -> dict[str, Any]:
    """`value` if it is an object, else {} (for optional vendor-specific members)."""
    return value if isinstance(value, dict) else {}


def _list(value: object, where: str) -> list[Any]:
    """`value` if it is an array ([] for null); _Bad for anything else."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f'"{where}" must be an array, found {json_type(value)}')
    return value


# --- affected packages ------------------------------------------------------------------------


def _affected_rows(
    record: dict[str, Any],
    title: str,
    published: datetime | None,
    limits: FeedLimits,
    skipped: _Skipped,
) -> list[Affected]:
    """The Affected rows of every `affected[]` entry of a record."""
    rows: list[Affected] = []
    summary_module = _summary_module(title)
    for index, entry in enumerate(_list(record.get("affected"), "affected")):
        where = f"affected[{index}]"
        if not isinstance(entry, dict):
            raise _Bad(f"{where} must be an object, found {json_type(entry)}")
        rows.extend(_entry_rows(entry, where, published, summary_module, skipped))
        if len(rows) > limits.max_records:
            raise _Bad(f"more than {limits.max_records:,} affected rows (max_records)")
    return rows


def _entry_rows(
    entry: dict[str, Any],
    where: str,
    published: datetime | None,
    summary_module: str,
    skipped: _Skipped,
) -> list[Affected]:
    """The Affected rows of one `affected[]` entry (none when only GIT ranges are given)."""
    ranges = _list(entry.get("ranges"), f"{where}.ranges")
    listed = _list(entry.get("versions"), f"{where}.versions")  # read only when needed
    version_ranges = []
    for number, item in enumerate(ranges):
        if not isinstance(item, dict):
            raise _Bad(f"{where}.ranges[{number}] must be an object, found {json_type(item)}")
        if item.get("type") in ("ECOSYSTEM", "SEMVER"):
            version_ranges.append((number, item))
        else:
            skipped.git_ranges += 1
    package = entry.get("package")
    if package is None:
        if version_ranges or listed:
            raise _Bad(f"{where} has version ranges but no package")
        return []
    identity, ecosystem = _identity(package, where)
    module = _entry_module(entry) or identity.module
    rows: list[Affected] = []
    for number, item in version_ranges:
        events = _events(item.get("events"), f"{where}.ranges[{number}].events")
        for lower, end_kind, end in _pairs(events):
            rows.append(_row(identity, ecosystem, module, lower, end_kind, end, published))
    if not version_ranges and (listed or not ranges):
        versions = _strings(listed, f"{where}.versions", _MAX_NAME)
        rows.append(_versions_row(identity, ecosystem, module, versions, skipped))
    if summary_module:
        for row in rows:
            if not row.module and row.package_type == "rpm" and ".module" in row.fixed_version:
                row.module = summary_module
    return rows


def _events(value: object, where: str) -> list[tuple[str, str]]:
    """(event kind, version) pairs of a range, in the order stated."""
    events = []
    for item in _list(value, where):
        if not isinstance(item, dict) or len(item) != 1:
            raise _Bad(f"{where} entries must be objects with one key, found {item!r:.80}")
        ((kind, version),) = item.items()
        if kind != "introduced" and kind not in _END_EVENTS:
            raise _Bad(f"{where}: unknown event {kind!r:.40}")
        text = _text(version, f"{where}[].{kind}", _MAX_NAME)
        if not text:
            raise _Bad(f"{where}: empty {kind} version")
        events.append((kind, text))
    return events


def _pairs(events: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(introduced, end kind, end version) per introduced..end pair, in the stated order. An
    introduced with no end gives ("x", "", ""); an end with no introduced before it closes the
    previous pair's introduced again (two fixes on two branches of one range), or "0"."""
    pairs: list[tuple[str, str, str]] = []
    start: str | None = None
    previous = "0"
    for kind, version in events:
        if kind == "introduced":
            if start is not None:
                pairs.append((start, "", ""))
            start = version
            continue
        lower = start if start is not None else previous
        pairs.append((lower, kind, version))
        previous, start = lower, None
    if start is not None:
        pairs.append((start, "", ""))
    return pairs


def _row(
    identity: _Identity,
    ecosystem: str,
    module: str,
    lower: str,
    end_kind: str,
    end: str,
    published: datetime | None,
) -> Affected:
    """One Affected row for an introduced..end pair."""
    constraints = [f">={lower}"] if lower != "0" else []
    if end_kind:
        constraints.append(f"{_END_EVENTS[end_kind]}{end}")
    fixed = end if end_kind == "fixed" else ""
    return Affected(
        package_type=identity.package_type,
        name=identity.name,
        namespace=identity.namespace,
        distro=identity.distro,
        arch=identity.arch,
        module=module,
        product=ecosystem,
        vers=_vers(identity.package_type, constraints) or f"vers:{identity.package_type}/*",
        fixed_version=fixed,
        fix_available_at=published if fixed else None,
    )


def _versions_row(
    identity: _Identity, ecosystem: str, module: str, versions: list[str], skipped: _Skipped
) -> Affected:
    """The row of an entry with no version range: its explicit versions, or every version."""
    if len(versions) > VERSIONS_CAP:
        skipped.cut_version_lists += 1
        versions = versions[:VERSIONS_CAP]
    return Affected(
        package_type=identity.package_type,
        name=identity.name,
        namespace=identity.namespace,
        distro=identity.distro,
        arch=identity.arch,
        module=module,
        product=ecosystem,
        vers=_vers(identity.package_type, [f"={v}" for v in dict.fromkeys(versions)]),
    )


def _vers(scheme: str, constraints: list[str]) -> str:
    """`common.vers(scheme, *constraints)` of non-empty constraints, joined here when none
    has a character that it would percent-encode (the operators have none)."""
    if not constraints:
        return ""
    joined = "|".join(constraints)
    # More "|" than the separators, a "%" or a space: some constraint needs escaping.
    if joined.count("|") >= len(constraints) or "%" in joined or " " in joined:
        return vers(scheme, *constraints)
    return f"vers:{scheme}/{joined}"


# --- package identity -------------------------------------------------------------------------

# (ecosystem, name, purl) -> _Identity: feeds name the same packages over and over, and the
# purl normalisation behind an identity is the slowest step of a record. Emptied after every
# parse, so that it holds no memory between syncs, and when full; a value depends only on its
# key, so parses in several threads may share it.
_identities: dict[tuple[str, str, str | None], _Identity] = {}
_IDENTITIES_KEPT = 65536


def _identity(package: object, where: str) -> tuple[_Identity, str]:
    """(who the package is, its ecosystem string) from `package{ecosystem, name, purl}`."""
    if not isinstance(package, dict):
        raise _Bad(f"{where}.package must be an object, found {json_type(package)}")
    ecosystem = _text(package.get("ecosystem"), f"{where}.package.ecosystem", _MAX_NAME)
    name = _text(package.get("name"), f"{where}.package.name", _MAX_NAME)
    if not ecosystem or not name:
        raise _Bad(f"{where}.package needs an ecosystem and a name")
    purl = package.get("purl")
    if not isinstance(purl, str) or len(purl) > _MAX_NAME:
        purl = None  # unusable (see _from_purl); and the cache keeps no long strings
    key = (ecosystem, name, purl)
    identity = _identities.get(key)
    if identity is None:
        if len(_identities) >= _IDENTITIES_KEPT:
            _identities.clear()
        identity = _identities[key] = _package_identity(*key)
    return identity, ecosystem


def _package_identity(ecosystem: str, name: str, purl: str | None) -> _Identity:
    """The identity of a package (see `_identity`)."""
    base, _, suffix = ecosystem.partition(":")
    distro = _distro(base, suffix)
    identity = _from_purl(purl, name)
    if identity is None:
        return _from_ecosystem(base, name, distro)
    if distro is not None and distro[2]:
        identity = identity._replace(distro=distro[2])
    return identity


def _from_purl(value: object, name: str) -> _Identity | None:
    """The identity a package's purl gives, or None when there is no usable purl."""
    if not isinstance(value, str) or not value.startswith("pkg:") or len(value) > _MAX_NAME:
        return None
    try:
        purl = purl_parse(value)
    except ValueError:
        return None
    module = purl.qualifiers.get("rpmmod", "")
    return _Identity(
        package_type=purl.type,
        name=purl.name or name,
        namespace=purl.namespace,
        distro=purl.distro,
        arch=purl.arch,
        module=":".join(module.split(":")[:2]) if module.count(":") >= 1 else "",
    )


def _from_ecosystem(base: str, name: str, distro: tuple[str, str, str] | None) -> _Identity:
    """The identity an ecosystem and package name give (no purl)."""
    if distro is not None:
        return _Identity(package_type=distro[0], name=name, namespace=distro[1], distro=distro[2])
    package_type = _LANGUAGES.get(base)
    if package_type is None:
        return _Identity(package_type="generic", name=name)
    namespace, short = _split_name(package_type, name)
    namespace, short = _canonical(package_type, namespace, short)
    return _Identity(package_type=package_type, name=short, namespace=namespace)


def _split_name(package_type: str, name: str) -> tuple[str, str]:
    """(purl namespace, purl name) of an ecosystem package name."""
    if package_type == "maven" and ":" in name:
        group, _, artifact = name.partition(":")
        return group, artifact
    if package_type == "npm" and name.startswith("@") and "/" in name:
        scope, _, short = name.partition("/")
        return scope, short
    if package_type in ("golang", "composer", "githubactions") and "/" in name:
        namespace, _, short = name.rpartition("/")
        return namespace, short
    return "", name


def _canonical(package_type: str, namespace: str, name: str) -> tuple[str, str]:
    """(namespace, name) as packageurl-python normalises them (pypi lowercase, '_' -> '-' ...),
    so that they compare equal to SBOM purls; unchanged if they do not form a purl."""
    if _PLAIN_NAME.fullmatch(name) and (not namespace or _PLAIN_NAMESPACE.fullmatch(namespace)):
        # No percent-encoding applies to these characters, so the purl packageurl-python
        # would write is this string if it leaves the parts as they are; purl_fast accepts a
        # purl only when packageurl-python would (tests/sbom/test_purls.py).
        plain = (
            f"pkg:{package_type}/{namespace}/{name}" if namespace else f"pkg:{package_type}/{name}"
        )
        purl = purl_fast(plain)
        if purl is not None and (purl.namespace, purl.name) == (namespace, name):
            return namespace, name
    return _canonical_slow(package_type, namespace, name)


@lru_cache(maxsize=8192)
def _canonical_slow(package_type: str, namespace: str, name: str) -> tuple[str, str]:
    """`_canonical` by packageurl-python itself."""
    try:
        purl = purl_parse(
            PackageURL(type=package_type, namespace=namespace or None, name=name).to_string()
        )
    except ValueError:
        return namespace, name
    return purl.namespace, purl.name


@lru_cache(maxsize=1024)
def _distro(base: str, suffix: str) -> tuple[str, str, str] | None:
    """(package type, purl namespace, distro) of a Linux distribution ecosystem, distro ""
    when the release cannot be read; None for anything else."""
    if base == "Red Hat":
        return "rpm", "redhat", _rhel(suffix)
    if base == "Ubuntu":
        releases = [p for p in suffix.split(":") if p not in ("Pro", "LTS", "")]
        release = releases[0] if releases else ""
        return "deb", "ubuntu", _release("ubuntu", release)
    simple = {
        "Debian": ("deb", "debian", "debian", ""),
        "AlmaLinux": ("rpm", "almalinux", "almalinux", ""),
        "Rocky Linux": ("rpm", "rocky-linux", "rocky", ""),
        "Alpine": ("apk", "alpine", "alpine", ""),
        "Azure Linux": ("rpm", "azurelinux", "azurelinux", ".0"),
        "Mariner": ("rpm", "cbl-mariner", "mariner", ".0"),
        "CBL-Mariner": ("rpm", "cbl-mariner", "mariner", ".0"),
        "Photon OS": ("rpm", "photon", "photon", ""),
        "Mageia": ("rpm", "mageia", "mageia", ""),
    }.get(base)
    if simple is None:
        return None
    package_type, namespace, os_id, minor = simple
    release = suffix[1:] if base == "Alpine" and suffix.startswith("v") else suffix
    if minor and release.isdigit():
        release += minor
    return package_type, namespace, _release(os_id, release)


def _release(os_id: str, release: str) -> str:
    """`<os id>-<release>`, or "" when the release is missing or not a version."""
    return f"{os_id}-{release}" if _VERSION_ID.fullmatch(release) else ""


def _rhel(suffix: str) -> str:
    """The RHEL release of a Red Hat ecosystem suffix ("rhel_aus:8.6::appstream" -> rhel-8.6,
    "enterprise_linux:9::appstream" -> rhel-9); "" for layered products (OpenShift ...)."""
    product, _, rest = suffix.partition(":")
    version = rest.partition(":")[0]
    if product != "enterprise_linux" and not product.startswith("rhel"):
        return ""
    return _release("rhel", version) if re.fullmatch(r"\d+(\.\d+)*", version) else ""


def _entry_module(entry: dict[str, Any]) -> str:
    """The module stream an affected entry states ("ruby:3.3"), "" if none."""
    for key in ("ecosystem_specific", "database_specific"):
        specific = entry.get(key)
        if not isinstance(specific, dict):
            continue
        value = specific.get("module")
        if isinstance(value, dict):
            name, stream = value.get("name"), value.get("stream")
            if isinstance(name, str) and isinstance(stream, str) and name and stream:
                return f"{name}:{stream}"[:_MAX_NAME]
        if isinstance(value, str) and value.count(":") >= 1:
            return ":".join(value.split(":")[:2])[:_MAX_NAME]
    return ""


def _summary_module(title: str) -> str:
    """The one `name:stream` token of a distro erratum synopsis ("Moderate: ruby:3.3 security
    update" -> "ruby:3.3"); "" when the summary has not that form, or names no stream or
    several ("python39:3.9 and python39-devel:3.9")."""
    if not _SUMMARY_SEVERITY.match(title):
        return ""
    tokens = {f"{m.group(1)}:{m.group(2)}" for m in _MODULE_TOKEN.finditer(title[:300])}
    return tokens.pop() if len(tokens) == 1 else ""
