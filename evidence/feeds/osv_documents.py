"""Reading OSV documents and archives into records, for `evidence.feeds.osv`.

A document is one JSON record, a JSON array of records, an OSV API answer (`{"vulns": [...]}`)
or a YAML record; an archive is an ecosystem's `all.zip`, in which each file is one record (or
an array of records) and a file that cannot be read or is not an OSV record is a RecordError
whose location is the file name. Entries expanding suspiciously (a possible decompression
bomb) or beyond `max_decompressed_bytes` are refused; stored and deflated entries are read
straight from the archive bytes when nothing about them is unusual (see `_plain_entry_bytes`).

Each record found is handed to a `RecordSink` (the OSV parser's reader), which maps it to an
Advisory. Documents of other formats (CSAF, CVE JSON 5, NVD, Debian tracker, KEV) are refused
with a FeedError naming what they look like; `describe_document` and `describe_text` are shared
with the KEV and retired parsers for that.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from typing import Any, Protocol

import orjson

from evidence.feeds.common import ZIP_MAGIC, feed_json, parser_limits
from evidence.feeds.model import FeedError, FeedLimits
from evidence.sbom.jsondoc import STDLIB_JSON_FROM, json_type
from evidence.sbom.model import SbomParseError
from evidence.sbom.yamldoc import yaml_load

# An archive entry expanding more than this many times its compressed size, and to more than
# _RATIO_FLOOR bytes, is refused (JSON records compress 5-20 times).
_MAX_RATIO = 200
_RATIO_FLOOR = 1024 * 1024
_DSA_LIST = re.compile(rb"\s*\[\d{1,2} [A-Z][a-z]{2} \d{4}\] D[SL]A-\d")
# Of a zip local file header (APPNOTE 4.3.7: signature, version, flags, method, time, date,
# CRC-32, sizes, file name length, extra field length), the fields ZipFile.open checks; the
# file name and the extra field follow it.
_LOCAL_HEADER = struct.Struct("<4s2xH18xHH")
_LOCAL_FLAG_UTF8 = 0x800
# Flags ZipFile.open refuses or needs a password for: encrypted, compressed patch, strong
# encryption.
_ENTRY_FLAGS_REFUSED = 0x1 | 0x20 | 0x40


class RecordSink(Protocol):
    """Where the records of a document go (the OSV parser's reader)."""

    limits: FeedLimits

    def record(self, value: object, location: str, *, add_id: bool = True) -> None:
        """Takes one record found at `location` (adding its id to the location if `add_id`)."""

    def error(self, location: str, message: str) -> None:
        """Takes one unreadable record (an archive entry) and why."""


# --- documents --------------------------------------------------------------------------------


def load_document(data: bytes, limits: FeedLimits) -> Any:
    """The decoded JSON or YAML value of `data`; FeedError if it is neither (or is empty)."""
    head = data[:64].lstrip()
    if not head:
        raise FeedError("the document is empty")
    kind = describe_text(data)
    if kind:
        raise FeedError(f"this is {kind}, not OSV")
    if head[:1] in (b"{", b"["):
        return _json(data, limits)
    try:
        value = yaml_load(data, parser_limits(limits))
    except SbomParseError as exc:
        raise FeedError(
            f"not an OSV document: neither JSON nor YAML ({exc.message})", location=exc.location
        ) from None
    if not isinstance(value, dict | list):
        raise FeedError(
            f"not an OSV document: the content reads as {json_type(value)}, not a record"
        )
    return value


def _json(data: bytes, limits: FeedLimits) -> Any:
    """`feed_json(data, limits)`, without its nesting-depth scan when `data` holds too few
    brackets to nest deeper than `max_depth` (brackets inside strings only add to the count), as
    most archive records do."""
    if len(data) < STDLIB_JSON_FROM and data.count(b"[") + data.count(b"{") <= limits.max_depth:
        try:
            return orjson.loads(data)  # what feed_json decodes a document of this size with
        except orjson.JSONDecodeError:
            pass  # feed_json words the error
    return feed_json(data, limits)


def read_document(document: Any, reader: RecordSink) -> None:
    """Reads a decoded document: one record, an array of records or `{"vulns": [...]}`."""
    if isinstance(document, dict):
        kind = describe_document(document)
        if kind == "an OSV API answer":
            document = document["vulns"]
        elif kind not in ("", "an OSV record"):
            raise FeedError(f"this is {kind}, not OSV")
        elif "id" not in document:
            keys = ", ".join(sorted(str(k) for k in document)[:8]) or "none"
            raise FeedError(f'not an OSV record: the top-level object has no "id" (keys: {keys})')
        else:
            reader.record(document, "")
            return
    if not isinstance(document, list):
        raise FeedError(f"not an OSV document: the top level is {json_type(document)}")
    if len(document) > reader.limits.max_records:
        raise FeedError(
            f"the document holds {len(document):,} records; the limit is "
            f"{reader.limits.max_records:,} (max_records)"
        )
    for index, value in enumerate(document):
        reader.record(value, f"[{index}]")


def describe_text(data: bytes) -> str:
    """What a text (non-JSON) document looks like, for messages; "" when unknown."""
    if _DSA_LIST.match(data[:200]):
        return "a Debian DSA/DLA list (text)"
    return ""


def describe_document(value: object) -> str:
    """What a decoded JSON document looks like, for messages ("a CSAF document", "an OSV
    record", "a CVE JSON 5 record" ...); "" when it is none of the formats known here."""
    if isinstance(value, list):
        return "a JSON array"
    if not isinstance(value, dict):
        return ""
    return _advisory_format(value) or _other_format(value)


def _advisory_format(value: dict[str, Any]) -> str:
    """The name of an advisory/vulnerability format `value` is in, "" if none of these."""
    document = value.get("document")
    if isinstance(document, dict) and "csaf_version" in document:
        return "a CSAF document"
    if "canonical_url" in value and "metadata_version" in value:
        return "a CSAF provider-metadata file"
    if isinstance(value.get("feed"), dict):
        return "a ROLIE feed"
    if value.get("dataType") == "CVE_RECORD" or "cveMetadata" in value:
        return "a CVE JSON 5 record"
    if value.get("format") == "NVD_CVE" or "resultsPerPage" in value:
        return "an NVD CVE API 2.0 document"
    if "CVE_Items" in value:
        return "an NVD JSON 1.1 feed"
    entries = value.get("vulnerabilities")
    first = entries[0] if isinstance(entries, list) and entries else None
    if "catalogVersion" in value or (isinstance(first, dict) and "cveID" in first):
        return "the CISA KEV catalog"
    if "cveID" in value and "dateAdded" in value:
        return "a CISA KEV entry"
    if "id" in value and ("modified" in value or "affected" in value):
        return "an OSV record"
    if "id" not in value and isinstance(value.get("vulns"), list):
        return "an OSV API answer"
    if _is_debian_tracker(value):
        return "a Debian security tracker JSON document"
    return ""


def _other_format(value: dict[str, Any]) -> str:
    """The name of an SBOM or project format `value` is in, "" if none of these."""
    if value.get("format") == "patchproof-retired":
        return "a patchproof retired-packages list"
    if "bomFormat" in value:
        return "a CycloneDX document"
    if "spdxVersion" in value or "@graph" in value:
        return "an SPDX document"
    return ""


def _is_debian_tracker(value: dict[str, Any]) -> bool:
    """Debian's tracker JSON: source package -> {CVE-/TEMP- id: {...}}."""
    if not value:
        return False
    for issues in list(value.values())[:3]:
        if not isinstance(issues, dict) or not issues:
            return False
        if not all(str(key).startswith(("CVE-", "TEMP-")) for key in list(issues)[:3]):
            return False
    return True


# --- zip archives -----------------------------------------------------------------------------


def read_zip(data: bytes, reader: RecordSink) -> int:
    """Reads every file of an OSV archive (all.zip); a bad entry is a RecordError named after
    the entry, the others are kept. Returns the number of entries read."""
    limits = reader.limits
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        raise FeedError("the zip archive is truncated or corrupt") from None
    if len(infos) > limits.max_records:
        raise FeedError(
            f"the zip archive holds {len(infos):,} files; the limit is {limits.max_records:,} "
            "(max_records)"
        )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_decompressed_bytes:
        raise FeedError(
            f"the zip archive expands to {declared:,} bytes; the limit is "
            f"{limits.max_decompressed_bytes:,} (max_decompressed_bytes)"
        )
    budget = limits.max_decompressed_bytes
    entries = 0
    with archive:
        for info in infos:
            entries += 1
            payload = _entry_bytes(archive, data, info, budget, reader)
            if payload is None:
                continue
            budget -= len(payload)
            _read_entry(payload, info.filename[:300], reader)
    return entries


def _entry_bytes(
    archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo, budget: int, reader: RecordSink
) -> bytes | None:
    """The bytes of one archive entry (`archive` reads `data`), or None after recording why it
    was refused."""
    location = info.filename[:300]
    if info.file_size > _RATIO_FLOOR and info.file_size > _MAX_RATIO * max(info.compress_size, 1):
        reader.error(
            location,
            f"refused: {info.compress_size:,} compressed bytes expand to {info.file_size:,} "
            "(a possible decompression bomb)",
        )
        return None
    if info.file_size <= budget:
        payload = _plain_entry_bytes(data, info)
        if payload is not None:
            return payload
    allowed = min(info.file_size, budget)
    try:
        with archive.open(info) as handle:
            payload = handle.read(allowed + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError,
            ValueError) as exc:  # fmt: skip
        reader.error(location, f"the archive entry cannot be read: {exc}")
        return None
    if len(payload) > allowed:
        reader.error(location, "the archive entry is larger than its header says; refused")
        return None
    return payload


def _plain_entry_bytes(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The bytes of a stored or deflated, unencrypted archive entry, taken from `data`
    directly; None when anything is unusual, and ZipFile.open then reads the entry and gives the
    verdict (and the message).

    ZipFile.open costs about 10 us per entry (a shared file object, a header re-read, a
    ZipExtFile), a third of the time of an all.zip of small records. The result here is what it
    would read: the local header is checked as ZipFile.open checks it (signature, flags, the
    file name matching the central directory's), and only a complete deflate stream (inflated
    to at most `file_size` + 1 bytes) of exactly `file_size` bytes with the stated CRC-32 is
    accepted."""
    method = info.compress_type
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    if info.flag_bits & _ENTRY_FLAGS_REFUSED:
        return None
    try:
        signature, flags, name_length, extra_length = _LOCAL_HEADER.unpack_from(
            data, info.header_offset
        )
    except struct.error:  # the archive ends inside the header
        return None
    start = info.header_offset + _LOCAL_HEADER.size
    try:
        name = data[start : start + name_length].decode(
            "utf-8" if flags & _LOCAL_FLAG_UTF8 else "cp437"
        )
    except UnicodeDecodeError:
        return None
    if signature != ZIP_MAGIC or name != info.orig_filename:
        return None
    start += name_length + extra_length
    payload = data[start : start + info.compress_size]
    if len(payload) != info.compress_size:
        return None
    if method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as ZipFile reads it
        try:
            payload = inflater.decompress(payload, info.file_size + 1)
        except zlib.error:
            return None
        if not inflater.eof:
            return None
    if len(payload) != info.file_size or zlib.crc32(payload) != info.CRC:
        return None
    return payload


def _read_entry(payload: bytes, location: str, reader: RecordSink) -> None:
    """Reads one archive entry: a record, or an array of records."""
    try:
        value = load_document(payload, reader.limits)
    except FeedError as exc:
        where = f" at {exc.location}" if exc.location else ""
        reader.error(location, f"{exc.message}{where}")
        return
    if isinstance(value, list):
        if len(value) > reader.limits.max_records:
            reader.error(location, f"more than {reader.limits.max_records:,} records (max_records)")
            return
        for index, item in enumerate(value):
            reader.record(item, f"{location}[{index}]")
        return
    kind = describe_document(value)
    if kind not in ("", "an OSV record"):
        reader.error(location, f"this is {kind}, not OSV")
        return
    reader.record(value, location, add_id=False)  # an all.zip entry is named after its record
