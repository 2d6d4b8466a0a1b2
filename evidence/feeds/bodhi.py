"""Fedora Bodhi update JSON (source "bodhi").

Three shapes are read: one update as the API returns it (`{"update": {...}, "can_edit": ...}`),
the update object itself (`{"alias": ..., "builds": [...], ...}`), and a page of the updates
list (`{"updates": [...], "page": N, "pages": M, "total": T, ...}`). Anything else is a
FeedError. `parse` returns one Advisory per update; an update it cannot read is a RecordError
located by JSON path and alias (`$.updates[3] (FEDORA-2023-6d4055d482)`).

Paging: `pages(data)` returns (page, pages) so that the sync step can fetch the next page;
`FeedParse.note` only repeats it for people ("page 2 of 7, 140 updates in all").

Decisions:

* external_id = `alias`; title = `title` (the space-separated NVRs; `display_name` when the
  title is empty); description = `notes`; kind = `type` (security, bugfix, enhancement,
  newpackage, else "unspecified"); severity = `severity` with Bodhi's "urgent" read as
  "critical" and "unspecified" as none.
* Dates ("YYYY-MM-DD HH:MM:SS", UTC): published_at = date_submitted; modified_at =
  date_modified, or, when that is null, the latest of date_submitted / date_testing /
  date_stable / date_pushed. milestones "submitted", "testing", "stable" from the dates that
  are present. A malformed date is left out and noted in a RecordError; the update is kept.
* fix_available_at = date_stable; for a `status: stable` update without date_stable (old
  Bodhi records) date_pushed; otherwise None (never pushed to stable, or date_stable
  malformed: no other date stands in for it).
* Aliases: the CVE ids in `cves` (strings or `{"cve_id": ...}`) and in the titles of `bugs`.
  references: `url` when it is an http(s) URL.
* Affected: one row per rpm build (`type` "rpm" or absent; module, flatpak and container builds
  are skipped). The NVR is split at its last two hyphens (the name may hold hyphens); the
  build's `epoch` is written into fixed_version only when it is non-zero, as in updateinfo.
  vers `<EVR`, status "affected", product = release name, distro from the release: "F38" ->
  "fedora-38", "EPEL-7" -> "epel-7" (also from id_prefix FEDORA / FEDORA-EPEL + version);
  other releases (EPEL Next, ELN, container/flatpak releases) -> "".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from evidence.feeds.common import decompress, feed_json, severity, vers
from evidence.feeds.model import Advisory, Affected, FeedError, FeedLimits, FeedParse, RecordError
from evidence.feeds.updateinfo import checked, cve_ids, feed_datetime, named, rpm_evr, web_links
from evidence.sbom.jsondoc import json_type

SOURCE = "bodhi"
_DEFAULT_LIMITS = FeedLimits()

_KINDS = frozenset({"security", "bugfix", "enhancement", "newpackage"})
_RPM_NAME = re.compile(r"[A-Za-z0-9._+\-]{1,256}")
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
_FEDORA_RELEASE = re.compile(r"F(\d{1,4})")
_EPEL_RELEASE = re.compile(r"EPEL-(\d{1,3}(?:\.\d{1,3})?)")
_MILESTONES = (("submitted", "date_submitted"), ("testing", "date_testing"))
_DATE_FIELDS = ("date_submitted", "date_testing", "date_stable", "date_pushed", "date_modified")
_LEADING_SPACE = re.compile(rb"\s*")
_WHAT = "Bodhi update JSON"


def parse(data: bytes, *, limits: FeedLimits = _DEFAULT_LIMITS, name: str = "") -> FeedParse:
    """The advisories of a Bodhi update document (one update or a page of updates), with a
    RecordError for each update that cannot be read. Raises FeedError when the document is
    not Bodhi update JSON (not JSON, another shape, a bad page envelope)."""
    document = _document(data, limits, name)
    records = _records(document, name)
    if len(records) > limits.max_records:
        raise named(
            FeedError(
                f"the document has {len(records):,} updates; the limit is "
                f"{limits.max_records:,} (max_records)",
                location="$.updates",
            ),
            name,
        )
    result = FeedParse(note=_note(document, name))
    for path, record in records:
        result.records_seen += 1
        _read_update(record, path, limits, result)
    return result


def pages(data: bytes, *, limits: FeedLimits = _DEFAULT_LIMITS, name: str = "") -> tuple[int, int]:
    """(page, pages) of an updates-list page, (1, 1) for a single update; FeedError when the
    document is not Bodhi update JSON or its `page` / `pages` are not counts. `pages` is 0
    when the query matched nothing."""
    document = _document(data, limits, name)
    _records(document, name)
    if "updates" not in document:
        return 1, 1
    return _page_numbers(document, name)


def _document(data: bytes, limits: FeedLimits, name: str) -> dict[str, Any]:
    """The decoded top-level JSON object; FeedError when it is empty, XML or not an object."""
    try:
        text = decompress(data, limits)
        start = _LEADING_SPACE.match(text)
        head = text[start.end() if start else 0 :][:1]
        if not head:
            raise FeedError(f"not {_WHAT}: the document is empty")
        if head == b"<":
            raise FeedError(f"not {_WHAT}: the document is XML, expected a JSON object")
        document = feed_json(text, limits)
    except FeedError as exc:
        raise named(exc, name) from None
    if not isinstance(document, dict):
        raise named(
            FeedError(f"not {_WHAT}: the top level is {json_type(document)}, expected an object"),
            name,
        )
    return document


def _records(document: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """(JSON path, update) for each update the document holds; FeedError for another shape."""
    if "updates" in document:
        updates = document["updates"]
        if not isinstance(updates, list):
            raise named(
                FeedError(
                    f"not {_WHAT}: 'updates' is {json_type(updates)}, expected an array",
                    location="$.updates",
                ),
                name,
            )
        _page_numbers(document, name)
        return [(f"$.updates[{index}]", update) for index, update in enumerate(updates)]
    if "update" in document:
        if not isinstance(document["update"], dict):
            raise named(
                FeedError(
                    f"not {_WHAT}: 'update' is {json_type(document['update'])}, expected an object",
                    location="$.update",
                ),
                name,
            )
        return [("$.update", document["update"])]
    if "alias" in document and any(key in document for key in ("builds", "release", "title")):
        return [("$", document)]
    keys = ", ".join(sorted(str(key)[:40] for key in document)[:8]) or "none"
    raise named(
        FeedError(
            f"not {_WHAT}: expected an object with 'updates', 'update', or an update's "
            f"'alias' and 'builds'; its keys are {keys}",
            location="$",
        ),
        name,
    )


def _page_numbers(document: dict[str, Any], name: str) -> tuple[int, int]:
    """(page, pages) of a list page; page defaults to 1 and pages to page."""
    page = document.get("page", 1)
    total_pages = document.get("pages", page)
    for key, value, least in (("page", page, 1), ("pages", total_pages, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise named(
                FeedError(
                    f"not {_WHAT}: '{key}' is {str(value)[:32]!r}, expected a whole number "
                    f">= {least}",
                    location=f"$.{key}",
                ),
                name,
            )
    return page, total_pages


def _note(document: dict[str, Any], name: str) -> str:
    """A human summary of the paging ("page 2 of 7, 140 updates in all"), "" for one update."""
    if "updates" not in document:
        return ""
    page, total_pages = _page_numbers(document, name)
    total = document.get("total")
    in_all = f", {total} updates in all" if isinstance(total, int) else ""
    return f"page {page} of {total_pages}{in_all}"


def _read_update(record: Any, path: str, limits: FeedLimits, out: FeedParse) -> None:
    """Append the update's advisory (and any date problems) or its RecordError to `out`."""
    where = path
    if isinstance(record, dict) and isinstance(record.get("alias"), str):
        where += f" ({record['alias'][:100]})"
    problems: list[str] = []
    try:
        advisory = _advisory(record, limits, problems)
    except FeedError:
        raise
    except ValueError as exc:
        out.errors.append(RecordError(where, str(exc)))
        return
    out.advisories.append(advisory)
    out.errors.extend(RecordError(where, problem) for problem in problems)


def _advisory(record: Any, limits: FeedLimits, problems: list[str]) -> Advisory:
    """The Advisory for one update object; ValueError when it cannot be read."""
    if not isinstance(record, dict):
        raise ValueError(f"the update is {json_type(record)}, expected an object")
    alias = _string(record, "alias", limits).strip()
    if not _ALIAS.fullmatch(alias):
        raise ValueError(f"the update has no usable 'alias' ({alias[:64]!r})")
    dates = _dates(record, problems)
    release = _release(record)
    advisory = Advisory(
        source=SOURCE,
        external_id=alias,
        title=" ".join(_string(record, "title", limits).split())
        or " ".join(_string(record, "display_name", limits).split()),
        description=_string(record, "notes", limits).strip(),
        kind=_kind(record.get("type")),
        severity=_severity(record.get("severity")),
        published_at=dates.get("date_submitted"),
        modified_at=_modified(dates),
        aliases=_aliases(record, alias, limits),
        references=web_links([_string(record, "url", limits)]),
        milestones={
            milestone: dates[key]
            for milestone, key in (*_MILESTONES, ("stable", "date_stable"))
            if key in dates
        },
    )
    fixed_at = dates.get("date_stable")
    if record.get("date_stable") in (None, "") and record.get("status") == "stable":
        fixed_at = dates.get("date_pushed")
    advisory.affected = _affected(record, release, fixed_at, limits)
    return advisory


def _string(record: dict[str, Any], key: str, limits: FeedLimits) -> str:
    """The string member `key` ("" when absent or null); ValueError for another type."""
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"'{key}' is {json_type(value)}, expected a string")
    return checked(value, f"'{key}'", limits)


def _kind(value: object) -> str:
    """The Advisory.kind for a Bodhi update `type`."""
    kind = value.strip().lower() if isinstance(value, str) else ""
    return kind if kind in _KINDS else "unspecified"


def _severity(value: object) -> str:
    """The normalised severity; Bodhi's "urgent" is "critical"."""
    if isinstance(value, str) and value.strip().lower() == "urgent":
        return "critical"
    return severity(value)


def _dates(record: dict[str, Any], problems: list[str]) -> dict[str, datetime]:
    """The update's date fields that are present and readable, by field name; the others
    are described in `problems`."""
    dates: dict[str, datetime] = {}
    for key in _DATE_FIELDS:
        value = record.get(key)
        if value is None or value == "":
            continue
        try:
            dates[key] = feed_datetime(value)
        except ValueError:
            problems.append(
                f"'{key}' {str(value)[:64]!r} is not a date; the update is kept without it"
            )
    return dates


def _modified(dates: dict[str, datetime]) -> datetime | None:
    """date_modified, or the latest of the other dates when it is absent."""
    if "date_modified" in dates:
        return dates["date_modified"]
    return max(dates.values(), default=None)


def _aliases(record: dict[str, Any], alias: str, limits: FeedLimits) -> tuple[str, ...]:
    """The sorted CVE ids from `cves` and from the titles of `bugs`."""
    texts: list[str] = []
    for key, member in (("cves", "cve_id"), ("bugs", "title")):
        for index, item in enumerate(_array(record, key)):
            value = item.get(member) if isinstance(item, dict) else item
            if isinstance(value, str):
                texts.append(checked(value, f"'{key}[{index}]'", limits))
            elif value is not None and key == "cves":
                raise ValueError(f"'cves[{index}]' is {json_type(value)}, expected a CVE id")
    found = cve_ids(*texts)
    found.discard(alias.upper())
    return tuple(sorted(found))


def _array(record: dict[str, Any], key: str) -> list[Any]:
    """The array member `key` ([] when absent or null); ValueError for another type."""
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"'{key}' is {json_type(value)}, expected an array")
    return value


def _release(record: dict[str, Any]) -> tuple[str, str]:
    """(release name, purl distro) of the update's release; ("", "") when it names none."""
    release = record.get("release")
    if release is None:
        return "", ""
    if not isinstance(release, dict):
        raise ValueError(f"'release' is {json_type(release)}, expected an object")
    name = release.get("name")
    name = name.strip()[:64] if isinstance(name, str) else ""
    return name, release_distro(name, release.get("id_prefix"), release.get("version"))


def release_distro(name: str, id_prefix: object, version: object) -> str:
    """The purl distro of a Bodhi release: "F38" -> "fedora-38", "EPEL-7" -> "epel-7"; from
    id_prefix FEDORA / FEDORA-EPEL and a numeric version when the name says nothing; else ""."""
    fedora = _FEDORA_RELEASE.fullmatch(name)
    if fedora:
        return f"fedora-{int(fedora.group(1))}"
    epel = _EPEL_RELEASE.fullmatch(name)
    if epel:
        return f"epel-{epel.group(1)}"
    if name or not isinstance(version, str | int) or isinstance(version, bool):
        return ""
    number = str(version).strip()
    if not (number.isascii() and number.isdigit() and len(number) <= 4):
        return ""
    prefix = {"FEDORA": "fedora", "FEDORA-EPEL": "epel"}.get(str(id_prefix).strip().upper())
    return f"{prefix}-{int(number)}" if prefix else ""


def _affected(
    record: dict[str, Any],
    release: tuple[str, str],
    fixed_at: datetime | None,
    limits: FeedLimits,
) -> list[Affected]:
    """One Affected per rpm build of the update; ValueError for a build that is unreadable."""
    rows: list[Affected] = []
    product, distro = release
    for index, build in enumerate(_array(record, "builds")):
        if not isinstance(build, dict):
            raise ValueError(f"'builds[{index}]' is {json_type(build)}, expected an object")
        if build.get("type", "rpm") not in ("rpm", None):
            continue
        nvr = build.get("nvr")
        if not isinstance(nvr, str):
            raise ValueError(f"'builds[{index}].nvr' is {json_type(nvr)}, expected a string")
        name, version, release_part = split_nvr(checked(nvr, f"'builds[{index}].nvr'", limits))
        fixed = rpm_evr(build.get("epoch"), version, release_part)
        rows.append(
            Affected(
                package_type="rpm",
                name=name,
                distro=distro,
                vers=vers("rpm", "<" + fixed),
                fixed_version=fixed,
                fix_available_at=fixed_at,
                status="affected",
                product=product,
            )
        )
    return rows


def split_nvr(nvr: str) -> tuple[str, str, str]:
    """(name, version, release) of "name-version-release"; the name may contain hyphens,
    version and release may not. ValueError when the text is not an NVR."""
    parts = nvr.strip().rsplit("-", 2)
    if len(parts) != 3 or not all(parts) or not _RPM_NAME.fullmatch(parts[0]):
        raise ValueError(f"the build {nvr[:100]!r} is not name-version-release")
    return parts[0], parts[1], parts[2]
