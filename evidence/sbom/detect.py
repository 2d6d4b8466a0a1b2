"""What a document is, from its content only (never its file name): size and gzip limits, text
encoding, syntax (JSON, XML, text) and SBOM format. `sbom_sniff` is the cheap upload-time check.

The checks read the document in chunks, so sniffing a gzip-compressed upload never holds more
than a chunk of the decompressed text, whatever it expands to.
"""

from __future__ import annotations

import codecs
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from evidence.sbom.model import Detected, Limits, SbomParseError

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_HEAD = 1 << 16
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 big-endian"),
    (b"\xff\xfe\x00\x00", "UTF-32 little-endian"),
    (b"\xfe\xff", "UTF-16 big-endian"),
    (b"\xff\xfe", "UTF-16 little-endian"),
)
# Keys and values whose presence anywhere in a document says which format it is. Writers that
# sort keys put 'spdxVersion' after 'packages', so the whole document is searched, not a prefix.
_MARKERS = (
    b'"bomFormat"',
    b'"spdxVersion"',
    b'"@graph"',
    b"spdx.org/rdf/3",
    b"\nspdxVersion:",
    b"\nSPDXVersion:",
)
_OVERLAP = max(len(m) for m in _MARKERS) - 1

FORMAT_NAMES = {
    ("cyclonedx", "json"): "CycloneDX JSON",
    ("cyclonedx", "xml"): "CycloneDX XML",
    ("spdx", "json"): "SPDX 2 JSON",
    ("spdx", "json-ld"): "SPDX 3 JSON-LD",
    ("spdx", "yaml"): "SPDX 2 YAML",
    ("spdx", "tag-value"): "SPDX 2 tag-value",
    ("spdx", "xml"): "SPDX 2 XML",
    ("spdx", "rdf"): "SPDX 2 RDF/XML",
}


def size_check(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        raise SbomParseError(
            f"the document is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes "
            "(max_bytes)"
        )


def _gunzip(data: bytes, limits: Limits) -> Iterator[bytes]:
    """The decompressed chunks of a gzip stream (several members allowed), stopping with an
    error as soon as the output passes `max_decompressed_bytes`."""
    limit = limits.max_decompressed_bytes
    total = 0
    pending = data
    while pending:
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            while not stream.eof:
                chunk = stream.decompress(pending, _CHUNK)
                pending = stream.unconsumed_tail
                if not chunk:
                    if not pending:
                        raise SbomParseError(
                            "the gzip stream is truncated", location=f"byte {len(data):,}"
                        )
                    continue
                total += len(chunk)
                if total > limit:
                    raise SbomParseError(
                        f"the gzip-compressed document expands to more than {limit:,} bytes "
                        "(max_decompressed_bytes); refused as a possible gzip bomb"
                    )
                yield chunk
        except zlib.error as exc:
            raise SbomParseError(f"the gzip stream is corrupt: {exc}") from None
        pending = stream.unused_data
        if pending and not pending.startswith(GZIP_MAGIC):
            if pending.strip(b"\x00"):
                raise SbomParseError(
                    "unexpected bytes after the end of the gzip stream",
                    location=f"byte {len(data) - len(pending):,}",
                )
            break


def decompressed(data: bytes, limits: Limits) -> tuple[bytes, bool]:
    """The document's bytes, gunzipped if it is gzip-compressed, and whether it was."""
    size_check(data, limits)
    if not data.startswith(GZIP_MAGIC):
        return data, False
    out = io.BytesIO()
    for chunk in _gunzip(data, limits):
        out.write(chunk)
    return out.getvalue(), True


def _chunks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK):
        yield bytes(view[start : start + _CHUNK])


def _line_column(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


@dataclass
class _Scan:
    """What one pass over the (decompressed) text found."""

    head: bytes = b""
    last: bytes = b""
    size: int = 0
    lines: int = 1
    blank: bool = True
    markers: set[bytes] = field(default_factory=set)


def _scan(chunks: Iterator[bytes], *, markers: bool) -> _Scan:
    """Collect the head and tail, check UTF-8 as it goes, and look for the format markers."""
    scan = _Scan()
    decoder = codecs.getincrementaldecoder("utf-8")()
    carry = b""
    for chunk in chunks:
        if scan.size == 0:
            _bom_check(chunk)
            if chunk.startswith(_UTF8_BOM):
                chunk = chunk[len(_UTF8_BOM) :]
                scan.size = len(_UTF8_BOM)
        if len(scan.head) < _HEAD:
            scan.head += chunk[: _HEAD - len(scan.head)]
        if not (chunk.isascii() and not decoder.getstate()[0]):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = exc.start - (len(exc.object) - len(chunk))
                offset = scan.size + at
                line = scan.lines + chunk.count(b"\n", 0, max(at, 0))
                raise SbomParseError(
                    f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset {offset:,} "
                    "is not valid UTF-8",
                    location=f"line {line}, byte {offset:,}",
                ) from None
        if scan.blank and chunk and not chunk.isspace():
            scan.blank = False
        if markers:
            window = carry + chunk
            scan.markers.update(m for m in _MARKERS if m in window)
            carry = window[-_OVERLAP:]
        significant = chunk.rstrip()
        if significant:
            scan.last = significant[-1:]
        scan.size += len(chunk)
        scan.lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise SbomParseError(
            "not UTF-8 text: the document ends in the middle of a UTF-8 character",
            location=f"byte {scan.size:,}",
        ) from None
    if scan.blank:
        raise SbomParseError("the document is empty")
    nul = scan.head.find(b"\x00")
    if nul >= 0:
        raise SbomParseError(
            f"not UTF-8 text: NUL byte at offset {nul:,} (is the document UTF-16?)",
            location=f"byte {nul:,}",
        )
    return scan


def _bom_check(first: bytes) -> None:
    for bom, name in _WIDE_BOMS:
        if first.startswith(bom):
            raise SbomParseError(
                f"not UTF-8 text: the document starts with a {name} byte order mark; "
                "SBOMs must be UTF-8",
                location="byte 0",
            )


def text_check(data: bytes) -> bytes:
    """`data` without a UTF-8 byte order mark, after checking it is non-blank UTF-8 text."""
    if data.isascii():  # most SBOMs: no decoding needed, no copies made
        if not data or data.isspace():
            raise SbomParseError("the document is empty")
        nul = data.find(b"\x00", 0, _HEAD)
        if nul >= 0:
            raise SbomParseError(
                f"not UTF-8 text: NUL byte at offset {nul:,} (is the document UTF-16?)",
                location=f"byte {nul:,}",
            )
        return data
    _scan(_chunks(data), markers=False)
    return data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data


def syntax_of(head: bytes) -> str:
    """'json', 'xml' or 'text' from the first significant character; a JSON document that is
    not an object is refused here."""
    start = head.lstrip()[:1]
    if start == b"{":
        return "json"
    if start == b"<":
        return "xml"
    if start == b"[":
        raise SbomParseError(
            "a JSON SBOM must be an object at the top level, not an array", location="$"
        )
    if start == b'"':
        raise SbomParseError(
            "a JSON SBOM must be an object at the top level, not a string", location="$"
        )
    return "text"


def hint_format(hint: str) -> str:
    """'cyclonedx', 'spdx' or '' from a content type or a --format value."""
    lowered = hint.lower()
    if "cyclonedx" in lowered or "cdx" in lowered:
        return "cyclonedx"
    if "spdx" in lowered:
        return "spdx"
    return ""


def not_an_sbom(head: bytes) -> SbomParseError:
    sample = head.lstrip()[:40].decode("utf-8", "replace")
    return SbomParseError(
        "not an SBOM: expected CycloneDX (JSON or XML) or SPDX (JSON, JSON-LD, YAML, "
        f"tag-value, XML or RDF/XML), but the document starts with {sample!r}",
        location="byte 0",
    )


def json_format(*, cyclonedx: bool, spdx2: bool, spdx3: bool, hint: str) -> tuple[str, str]:
    """(format, encoding) of a JSON object from what it contains; `hint` breaks ties."""
    found = [
        kind
        for kind, present in (
            (("cyclonedx", "json"), cyclonedx),
            (("spdx", "json"), spdx2),
            (("spdx", "json-ld"), spdx3),
        )
        if present
    ]
    if len(found) > 1:
        preferred = hint_format(hint)
        narrowed = [kind for kind in found if kind[0] == preferred]
        if len(narrowed) == 1:
            return narrowed[0]
        names = " and ".join(FORMAT_NAMES[kind] for kind in found)
        raise SbomParseError(
            f"ambiguous document: it has the keys of both {names}; say which format it is",
            location="$",
        )
    if not found:
        raise SbomParseError(
            "not an SBOM: a JSON object without 'bomFormat': 'CycloneDX' (CycloneDX), "
            "'spdxVersion' (SPDX 2) or an SPDX 3 '@context' and '@graph'",
            location="$",
        )
    return found[0]


_XML_PROLOG = re.compile(rb"\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*)*", re.DOTALL)
_XML_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)([^>]*)>?")


def xml_doctype_check(data: bytes) -> None:
    """Refuse a DOCTYPE before any parser sees it: DTDs carry entity bombs and external
    references, and no SBOM format needs one."""
    prolog = _XML_PROLOG.match(data)
    rest = data[prolog.end() if prolog else 0 :]
    if rest[:9].upper() == b"<!DOCTYPE":
        offset = len(data) - len(rest)
        raise SbomParseError(
            "XML with a DOCTYPE declaration is refused (DTDs and entities are not accepted "
            "in SBOMs)",
            location=_line_column(data, offset),
        )


def xml_format(head: bytes) -> tuple[str, str]:
    """(format, encoding) of an XML document from its root element."""
    xml_doctype_check(head)
    prolog = _XML_PROLOG.match(head)
    root = _XML_ROOT.match(head, prolog.end() if prolog else 0)
    if root is None:
        raise not_an_sbom(head)
    local = root.group(2).decode("ascii")
    start_tag = root.group(3)
    if local == "bom" and b"cyclonedx.org/schema/bom/" in start_tag:
        return "cyclonedx", "xml"
    if local == "RDF" and b"spdx.org/rdf/terms" in head:
        return "spdx", "rdf"
    if local == "Document" and b"<spdxVersion>" in head:
        return "spdx", "xml"
    raise SbomParseError(
        f"not an SBOM: an XML document whose root element is <{local}>; expected CycloneDX "
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.x">, SPDX RDF/XML <rdf:RDF> or '
        "SPDX XML <Document>",
        location="line 1",
    )


_TAG_VALUE = re.compile(rb"(?m)^SPDXVersion:")
_YAML = re.compile(rb"(?m)^spdxVersion:")


def text_format(head: bytes, *, tag_value: bool, yaml: bool) -> tuple[str, str]:
    """(format, encoding) of a document that is neither JSON nor XML."""
    tag_value = tag_value or bool(_TAG_VALUE.search(head))
    yaml = yaml or bool(_YAML.search(head))
    if tag_value and not yaml:
        return "spdx", "tag-value"
    if yaml and not tag_value:
        return "spdx", "yaml"
    raise not_an_sbom(head)


def sbom_sniff(data: bytes, *, limits: Limits | None = None, hint: str = "") -> Detected:
    """Which SBOM format `data` is, from its content, reading it once in chunks.

    Raises SbomParseError for an over-size or empty document, a gzip stream that is corrupt or
    expands past `max_decompressed_bytes`, text that is not UTF-8, a JSON document that is cut
    short or not an object, XML with a DOCTYPE, and anything that is not a CycloneDX or SPDX
    document. Passing the sniff does not mean the document parses: `sbom_parse` decides that.
    """
    limits = limits or Limits()
    size_check(data, limits)
    compressed = data.startswith(GZIP_MAGIC)
    scan = _scan(_gunzip(data, limits) if compressed else _chunks(data), markers=True)
    syntax = syntax_of(scan.head)
    if syntax == "json":
        if scan.last != b"}":
            raise SbomParseError(
                "not JSON: the document ends before the JSON is complete (truncated upload?)",
                location=f"line {scan.lines}",
            )
        spdx3 = b'"@graph"' in scan.markers and b"spdx.org/rdf/3" in scan.markers
        fmt, encoding = json_format(
            cyclonedx=b'"bomFormat"' in scan.markers,
            spdx2=b'"spdxVersion"' in scan.markers and not spdx3,
            spdx3=spdx3,
            hint=hint,
        )
    elif syntax == "xml":
        fmt, encoding = xml_format(scan.head)
    else:
        fmt, encoding = text_format(
            scan.head,
            tag_value=b"\nSPDXVersion:" in scan.markers,
            yaml=b"\nspdxVersion:" in scan.markers,
        )
    return Detected(format=fmt, encoding=encoding, compressed=compressed)
