"""CISA's Known Exploited Vulnerabilities catalog (known_exploited_vulnerabilities.json):
`{"title", "catalogVersion", "dateReleased", "count", "vulnerabilities": [{cveID,
vendorProject, product, vulnerabilityName, dateAdded, shortDescription, requiredAction,
dueDate, knownRansomwareCampaignUse, notes, cwes}]}`, plain or gzip/xz/zstd-compressed.

One KevEntry per vulnerability; `FeedParse.note` = "catalogVersion X released Y". A single
entry object without the catalog around it is read as a one-entry catalog. RecordErrors (the
other entries are kept): an entry whose cveID is not a CVE id or whose dateAdded/dueDate is not
a YYYY-MM-DD date ("vulnerabilities[3] (CVE-2024-1234)"), a repeated cveID (the first is kept),
and a `count` that disagrees with the number of entries (location "count").
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from evidence.feeds.common import decompress, feed_json, parse_date
from evidence.feeds.model import FeedError, FeedLimits, FeedParse, KevEntry, RecordError
from evidence.feeds.osv_documents import describe_document, describe_text
from evidence.sbom.jsondoc import json_type

SOURCE = "kev"

_CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|T)")
_KEV_KINDS = ("the CISA KEV catalog", "a CISA KEV entry")


class _Bad(Exception):
    """One entry cannot be used; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse(data: bytes, *, limits: FeedLimits = FeedLimits(), name: str = "") -> FeedParse:
    """The entries of a KEV catalog. FeedError when the document is not one (another format,
    not JSON, no `vulnerabilities` array); bad entries become RecordErrors."""
    data = decompress(data, limits)
    kind = describe_text(data)
    if kind:
        raise FeedError(f"this is {kind}, not the CISA KEV catalog")
    document = feed_json(data, limits)
    kind = describe_document(document)
    if kind not in _KEV_KINDS:
        if kind:
            raise FeedError(f"this is {kind}, not the CISA KEV catalog")
        raise FeedError(
            'not a CISA KEV catalog: expected an object with a "vulnerabilities" array and '
            f'"catalogVersion", found {_shape(document)}'
        )
    if kind == "a CISA KEV entry":
        result = FeedParse(note="a single KEV entry without the catalog around it")
        _read_entries([document], limits, result)
        return result
    entries = document.get("vulnerabilities")
    if not isinstance(entries, list):
        raise FeedError(
            f'"vulnerabilities" must be an array, found {json_type(entries)}',
            location="$.vulnerabilities",
        )
    if len(entries) > limits.max_records:
        raise FeedError(
            f"the catalog lists {len(entries):,} entries; the limit is {limits.max_records:,} "
            "(max_records)"
        )
    result = FeedParse(note=_note(document))
    _check_count(document, len(entries), result)
    _read_entries(entries, limits, result)
    return result


def _shape(document: object) -> str:
    """A short description of a JSON value's top level, for messages."""
    if isinstance(document, dict):
        keys = ", ".join(sorted(str(k) for k in document)[:8]) or "no keys"
        return f"an object with {keys}"
    return json_type(document)


def _note(document: dict[str, Any]) -> str:
    """ "catalogVersion X released Y" (the parts the catalog states)."""
    version = _short(document.get("catalogVersion"))
    released = _short(document.get("dateReleased"))
    parts = []
    if version:
        parts.append(f"catalogVersion {version}")
    if released:
        parts.append(f"released {released}")
    return " ".join(parts) or "KEV catalog without catalogVersion"


def _short(value: object) -> str:
    """A header string for the note, stripped and cut to 64 characters ("" if not a string)."""
    return value.strip()[:64] if isinstance(value, str) else ""


def _check_count(document: dict[str, Any], listed: int, result: FeedParse) -> None:
    """A RecordError when the catalog's `count` is not the number of entries it lists."""
    if "count" not in document:
        return
    count = document["count"]
    if isinstance(count, bool) or not isinstance(count, int):
        result.errors.append(RecordError("count", f"count must be a number, found {count!r:.40}"))
    elif count != listed:
        result.errors.append(
            RecordError(
                "count",
                f"the catalog says count {count:,} but lists {listed:,} entries "
                "(truncated or edited copy?)",
            )
        )


def _read_entries(entries: list[Any], limits: FeedLimits, result: FeedParse) -> None:
    """Adds a KevEntry per good entry and a RecordError per bad or repeated one."""
    first_seen: dict[str, int] = {}
    for index, value in enumerate(entries):
        result.records_seen += 1
        location = _location(index, value)
        try:
            entry = _entry(value, limits)
        except _Bad as exc:
            result.errors.append(RecordError(location, exc.message))
            continue
        if entry.cve_id in first_seen:
            result.errors.append(
                RecordError(
                    location,
                    f"{entry.cve_id} is listed again (first at vulnerabilities"
                    f"[{first_seen[entry.cve_id]}]); the first entry is kept",
                )
            )
            continue
        first_seen[entry.cve_id] = index
        result.kev.append(entry)


def _location(index: int, value: object) -> str:
    """ "vulnerabilities[3] (CVE-2024-1234)", or without the id when there is none."""
    cve = value.get("cveID") if isinstance(value, dict) else None
    if isinstance(cve, str) and cve.strip():
        return f"vulnerabilities[{index}] ({cve.strip()[:40]})"
    return f"vulnerabilities[{index}]"


def _entry(value: object, limits: FeedLimits) -> KevEntry:
    """The KevEntry of one catalog entry; _Bad when it is unusable."""
    if not isinstance(value, dict):
        raise _Bad(f"expected an object, found {json_type(value)}")
    cve_id = _text(value, "cveID", limits)
    if not _CVE_ID.fullmatch(cve_id):
        raise _Bad(f"cveID {cve_id[:40]!r} is not a CVE id (CVE-YYYY-NNNN)")
    date_added = _date(value, "dateAdded")
    if date_added is None:
        raise _Bad("dateAdded is missing")
    return KevEntry(
        cve_id=cve_id,
        vendor=_text(value, "vendorProject", limits),
        product=_text(value, "product", limits),
        name=_text(value, "vulnerabilityName", limits),
        date_added=date_added,
        due_date=_date(value, "dueDate"),
        ransomware=_text(value, "knownRansomwareCampaignUse", limits),
        required_action=_text(value, "requiredAction", limits),
        notes=_text(value, "notes", limits),
        description=_text(value, "shortDescription", limits),
    )


def _text(value: dict[str, Any], key: str, limits: FeedLimits) -> str:
    """The string at `key`, stripped and cut to `max_string` ("" when absent or null)."""
    text = value.get(key)
    if text is None:
        return ""
    if not isinstance(text, str):
        raise _Bad(f"{key} must be a string, found {json_type(text)}")
    return text[: limits.max_string].strip()


def _date(value: dict[str, Any], key: str) -> date | None:
    """The YYYY-MM-DD date at `key` (None when absent or empty); _Bad when malformed."""
    text = value.get(key)
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not _DATE.match(text.strip()):
        raise _Bad(f"{key} {str(text)[:40]!r} is not a YYYY-MM-DD date")
    try:
        return parse_date(text.strip())
    except ValueError:
        raise _Bad(f"{key} {text[:40]!r} is not a valid date") from None
