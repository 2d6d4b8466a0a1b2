"""Helpers every feed parser shares: bounded decompression, hardened JSON/XML reading,
tolerant dates, severities and vers strings."""

from __future__ import annotations

import io
import lzma
import re
from datetime import UTC, date, datetime, time
from typing import Any
from xml.etree import ElementTree as ET

from evidence.feeds.model import FeedError, FeedLimits
from evidence.sbom.detect import GZIP_MAGIC
from evidence.sbom.detect import decompressed as _gunzipped
from evidence.sbom.jsondoc import json_load
from evidence.sbom.model import Limits, SbomParseError
from evidence.sbom.xmldoc import local_name, xml_parse

XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1024 * 1024
_ZSTD_STEP = 2048

__all__ = [
    "ZIP_MAGIC",
    "decompress",
    "feed_json",
    "feed_xml",
    "local_name",
    "parse_date",
    "parse_datetime",
    "parser_limits",
    "severity",
    "vers",
]


def parser_limits(limits: FeedLimits) -> Limits:
    """The SBOM readers' limits (shared JSON, XML, YAML and gzip readers) matching `limits`."""
    return Limits(
        max_bytes=limits.max_bytes,
        max_decompressed_bytes=limits.max_decompressed_bytes,
        max_depth=limits.max_depth,
        max_components=limits.max_records,
        max_string=limits.max_string,
    )


def _bounded(reader: Any, limit: int, what: str) -> bytes:
    out = io.BytesIO()
    total = 0
    while True:
        chunk = reader.read(_CHUNK)
        if not chunk:
            return out.getvalue()
        total += len(chunk)
        if total > limit:
            raise FeedError(
                f"the {what}-compressed document expands to more than {limit:,} bytes "
                "(max_decompressed_bytes); refused as a possible decompression bomb"
            )
        out.write(chunk)


def _unzstd(data: bytes, limit: int) -> bytes:
    """Every frame of a zstd stream, bounded; a stream that ends inside a frame is an error."""
    import zstandard

    out = io.BytesIO()
    pending = data
    while pending:
        inflater = zstandard.ZstdDecompressor().decompressobj()
        # Small input steps bound the overshoot: a few bytes of zstd can expand to 128 KB.
        for start in range(0, len(pending), _ZSTD_STEP):
            out.write(inflater.decompress(pending[start : start + _ZSTD_STEP]))
            if out.tell() > limit:
                raise FeedError(
                    f"the zstd-compressed document expands to more than {limit:,} bytes "
                    "(max_decompressed_bytes); refused as a possible decompression bomb"
                )
            if inflater.eof:
                break
        if not inflater.eof:
            raise FeedError("the zstd stream is truncated", location=f"byte {len(data):,}")
        pending = inflater.unused_data
    return out.getvalue()


def decompress(data: bytes, limits: FeedLimits) -> bytes:
    """`data` gunzipped, unxz'd or unzstd'd when it starts with that format's magic bytes
    (never by file name), bounded by `limits.max_decompressed_bytes`; other data as it is."""
    if len(data) > limits.max_bytes:
        raise FeedError(
            f"the document is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes"
        )
    try:
        if data.startswith(GZIP_MAGIC):
            return _gunzipped(data, parser_limits(limits))[0]
        if data.startswith(XZ_MAGIC):
            with lzma.open(io.BytesIO(data)) as reader:
                return _bounded(reader, limits.max_decompressed_bytes, "xz")
        if data.startswith(ZSTD_MAGIC):
            return _unzstd(data, limits.max_decompressed_bytes)
    except SbomParseError as exc:
        raise FeedError(exc.message, location=exc.location) from None
    except (lzma.LZMAError, EOFError) as exc:
        raise FeedError(f"the xz stream is corrupt or truncated: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("zstandard"):
            raise FeedError(f"the zstd stream is corrupt or truncated: {exc}") from None
        raise
    return data


def feed_json(data: bytes, limits: FeedLimits) -> Any:
    """Decoded JSON (depth-limited, UTF-8), or FeedError with the line and column."""
    try:
        return json_load(data, parser_limits(limits))
    except SbomParseError as exc:
        raise FeedError(exc.message, location=exc.location) from None


def feed_xml(data: bytes, limits: FeedLimits) -> ET.Element:
    """The root element, parsed with DTDs, entities and external references refused."""
    try:
        return xml_parse(data, parser_limits(limits))
    except SbomParseError as exc:
        message = exc.message.replace("not accepted in SBOMs", "not accepted in feeds")
        raise FeedError(message, location=exc.location) from None


_SPACE_UTC = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)


def _from_posix(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{str(seconds)[:64]!r} is not a date (seconds out of range)") from None


def parse_datetime(value: object) -> datetime:
    """A timezone-aware datetime from the forms feeds use: ISO 8601 (with or without a zone;
    none means UTC), "YYYY-MM-DD HH:MM:SS[ UTC]", a bare date (midnight UTC) or POSIX seconds.
    ValueError names the value when it is none of these."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_posix(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValueError(f"{str(value)[:64]!r} is not a date")
    text = value.strip()
    if text.isdigit():
        return _from_posix(int(text))
    had_zone_word = bool(_SPACE_UTC.search(text)) and not text.endswith("Z")
    if had_zone_word:
        text = _SPACE_UTC.sub("", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value[:64]!r} is not a date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: object) -> date:
    """A calendar date from "YYYY-MM-DD" (or a date-time, whose date is taken)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_datetime(value).date()


_SEVERITY = {
    "critical": "critical",
    "important": "high",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "none": "none",
    "negligible": "low",
    "unimportant": "low",
}


def severity(value: object) -> str:
    """A source's severity word as one of model.SEVERITIES ("" when unknown or absent)."""
    if not isinstance(value, str):
        return ""
    return _SEVERITY.get(value.strip().lower(), "")


def vers(scheme: str, *constraints: str) -> str:
    """A vers string (`vers:rpm/<1:3.0.7-18.el9_2`) from constraints such as "<1.2" or
    ">=1.0"; "" when there are none. Characters the vers syntax reserves are percent-encoded."""
    parts = [c for c in constraints if c]
    if not parts:
        return ""
    return f"vers:{scheme}/" + "|".join(_vers_escape(c) for c in parts)


def _vers_escape(constraint: str) -> str:
    op = next((o for o in ("<=", ">=", "!=", "<", ">", "=") if constraint.startswith(o)), "")
    version = constraint[len(op) :]
    return op + version.replace("%", "%25").replace("|", "%7C").replace(" ", "%20")
