"""The OSV parser against hostile and broken input written here: unusable documents, bad
records among good ones, compression, zip archives and the fast paths that read them."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import zipfile
from typing import Any

import pytest
import zstandard

from evidence.feeds import osv, osv_documents
from evidence.feeds.model import FeedError, FeedLimits
from tests.feeds.osv_support import affected_with, fixture, only, record


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- hostile and broken input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b'{"id": "X", "modified": "2024-01-01T00:00:00Z", "affected": [', "truncated"),
        (b'"just a string"', "reads as a string"),
        (b"42", "reads as a number"),
        (b'{"summary": "no id here"}', 'no "id"'),
        (b'{"id": "X", "summary": "\xff\xfe"}', "not JSON"),
        (b"id: X\nsummary: \xff\xfe\n", "neither JSON nor YAML"),
        (b"[" * 5000 + b"]" * 5000, "nested deeper"),
        (b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases are refused"),
        (b"!!python/object/apply:os.system ['true']\n", "neither JSON nor YAML"),
        (b"id: X\n---\nid: Y\n", "neither JSON nor YAML"),
        (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<l>&b;</l>",
            "not an OSV document",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            "not an OSV document",
        ),
    ],
)
def test_unusable_documents(data: bytes, expected: str) -> None:
    with pytest.raises(FeedError) as caught:
        osv.parse(data)
    assert expected in str(caught.value)


def test_bad_records_among_good_ones() -> None:
    bad_event = affected_with("PyPI") | {
        "ranges": [{"type": "ECOSYSTEM", "events": [{"broken": "1"}]}]
    }
    document = [
        record(id="GOOD-1"),
        {"id": "NOMOD-1", "affected": []},
        "not a record",
        record(id="BADDATE-1", modified="yesterday"),
        record(id="BADTYPE-1", affected="everything"),
        record(id="BADEVENT-1", affected=[bad_event]),
        record(id="BADALIAS-1", aliases="CVE-2024-1"),
        record(id="GOOD-2", summary="x" * 100),
    ]
    result = osv.parse(json.dumps(document).encode())
    assert [a.external_id for a in result.advisories] == ["GOOD-1", "GOOD-2"]
    assert result.records_seen == 8
    assert [e.location for e in result.errors] == [
        "[1] (NOMOD-1)",
        "[2]",
        "[3] (BADDATE-1)",
        "[4] (BADTYPE-1)",
        "[5] (BADEVENT-1)",
        "[6] (BADALIAS-1)",
    ]
    assert "modified" in result.errors[0].message
    assert "yesterday" in result.errors[2].message


def test_single_record_without_modified_is_a_record_error() -> None:
    result = osv.parse(json.dumps({"id": "X-1", "summary": "s"}).encode())
    assert result.advisories == [] and result.records_seen == 1
    assert result.errors[0].location == "X-1"


def test_long_text_is_cut_and_long_ids_refused() -> None:
    limits = FeedLimits(max_string=100)
    result = osv.parse(
        json.dumps([record(details="d" * 5000), record(id="I" * 300)]).encode(), limits=limits
    )
    assert len(result.advisories[0].description) == 100
    assert len(result.errors) == 1 and "limit" in result.errors[0].message


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "xz", "zstd"],
)
def test_compressed_documents(compress: Any) -> None:
    data = compress(fixture("osv/vunnel_rocky_RLSA-2024-3671.json"))
    assert only(osv.parse(data)).external_id == "RLSA-2024:3671"


def test_compression_bomb_refused() -> None:
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        osv.parse(gzip.compress(b" " * 200_000), limits=FeedLimits(max_decompressed_bytes=100_000))


def test_truncated_gzip_refused() -> None:
    with pytest.raises(FeedError):
        osv.parse(gzip.compress(json.dumps(record()).encode())[:-12])


def test_osv_api_answer() -> None:
    result = osv.parse(json.dumps({"vulns": [record(id="A-1"), record(id="A-2")]}).encode())
    assert [a.external_id for a in result.advisories] == ["A-1", "A-2"]


def test_too_many_records() -> None:
    with pytest.raises(FeedError, match="max_records"):
        osv.parse(json.dumps([record()] * 3).encode(), limits=FeedLimits(max_records=2))


# --- zip archives -----------------------------------------------------------------------------


def test_zip_archive_keeps_good_entries() -> None:
    entries = {
        "A-1.json": json.dumps(record(id="A-1")).encode(),
        "A-2.json": json.dumps(record(id="A-2")).encode(),
        "broken.json": b'{"id": "B-1", ',
        "nomod.json": json.dumps({"id": "NOMOD-1", "affected": []}).encode(),
        "cve.json": json.dumps({"dataType": "CVE_RECORD", "cveMetadata": {}}).encode(),
        "A-3.yaml": b"id: A-3\nmodified: 2024-01-01T00:00:00Z\n",
        "subdir/": b"",
    }
    result = osv.parse(zip_of(entries), name="all.zip")
    assert sorted(a.external_id for a in result.advisories) == ["A-1", "A-2", "A-3"]
    assert [e.location for e in result.errors] == ["broken.json", "nomod.json", "cve.json"]
    assert "truncated" in result.errors[0].message
    assert "CVE JSON 5" in result.errors[2].message
    assert result.records_seen == 6
    assert "from 6 zip entries" in result.note


def test_truncated_zip_refused() -> None:
    data = zip_of({f"A-{n}.json": json.dumps(record(id=f"A-{n}")).encode() for n in range(5)})
    with pytest.raises(FeedError, match="the zip archive is truncated or corrupt"):
        osv.parse(data[: len(data) // 2])


def test_zip_limits() -> None:
    data = zip_of({f"A-{n}.json": json.dumps(record(id=f"A-{n}")).encode() for n in range(5)})
    with pytest.raises(FeedError, match="max_records"):
        osv.parse(data, limits=FeedLimits(max_records=4))
    with pytest.raises(FeedError, match="max_decompressed_bytes"):
        osv.parse(data, limits=FeedLimits(max_decompressed_bytes=500))
    with pytest.raises(FeedError, match="the limit is"):
        osv.parse(data, limits=FeedLimits(max_bytes=len(data) - 1))


def test_zip_entry_with_absurd_ratio_refused() -> None:
    data = zip_of(
        {"bomb.json": b" " * (3 * 1024 * 1024), "A-1.json": json.dumps(record(id="A-1")).encode()}
    )
    result = osv.parse(data)
    assert [a.external_id for a in result.advisories] == ["A-1"]
    assert result.errors[0].location == "bomb.json"
    assert "decompression bomb" in result.errors[0].message


def test_zip_entry_with_bad_crc_is_a_record_error() -> None:
    good = json.dumps(record(id="A-1")).encode()
    data = bytearray(
        zip_of(
            {"A-1.json": good, "A-2.json": json.dumps(record(id="A-2")).encode()},
            zipfile.ZIP_STORED,
        )
    )
    offset = data.index(b'"A-2"')
    data[offset + 1] = ord("B")  # the stored bytes no longer match the CRC
    result = osv.parse(bytes(data))
    assert [a.external_id for a in result.advisories] == ["A-1"]
    assert result.errors[0].location == "A-2.json"


def test_all_zip_of_20000_records() -> None:
    """Every record of a large archive is read (speed is measured by bench/feeds.py)."""
    entries = {
        f"PYSEC-2024-{n}.json": json.dumps(
            record(id=f"PYSEC-2024-{n}", aliases=[f"CVE-2024-{10000 + n}"], details="d" * 200)
        ).encode()
        for n in range(20_000)
    }
    result = osv.parse(zip_of(entries))
    assert len(result.advisories) == 20_000 and not result.errors


# --- fast paths give what the general ones give -----------------------------------------------


def _entries_read_both_ways(data: bytes) -> list[tuple[bytes | None, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            (osv_documents._plain_entry_bytes(data, i), archive.read(i)) for i in archive.infolist()
        ]


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_zip_entries_read_directly_are_what_zipfile_reads(method: int) -> None:
    entries = {
        "A-1.json": json.dumps(record(id="A-1")).encode(),
        "dir/ünïcode-Ä.json": json.dumps(record(id="A-2", details="é" * 3000)).encode(),
        "empty.json": b"",
    }
    data = zip_of(entries, method)
    for direct, read in _entries_read_both_ways(data):
        if method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            assert direct == read  # read without ZipFile.open
        else:
            assert direct is None  # left to ZipFile.open
    assert len(osv.parse(data).advisories) == 2


def test_zip_entries_with_data_descriptors_read_directly() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.out = io.BytesIO()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            return self.out.write(b)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(3):
            with archive.open(f"A-{n}.json", "w") as handle:
                handle.write(json.dumps(record(id=f"A-{n}")).encode())
    data = stream.out.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert all(info.flag_bits & 0x08 for info in archive.infolist())
    assert all(direct == read for direct, read in _entries_read_both_ways(data))
    assert [a.external_id for a in osv.parse(data).advisories] == ["A-0", "A-1", "A-2"]


def test_zip_entry_oddities_are_left_to_zipfile() -> None:
    good = json.dumps(record(id="A-1")).encode()
    data = zip_of({"A-1.json": good, "A-2.json": json.dumps(record(id="A-2")).encode()})
    # the local header names another file than the central directory
    renamed = bytearray(data)
    renamed[data.index(b"A-2.json")] = ord("B")
    result = osv.parse(bytes(renamed))
    assert [a.external_id for a in result.advisories] == ["A-1"]
    assert result.errors[0].location == "A-2.json"
    assert "differ" in result.errors[0].message
    # a corrupt deflate stream
    broken = bytearray(data)
    start = data.index(b"A-2.json") + len("A-2.json")
    broken[start : start + 40] = bytes(40)
    result = osv.parse(bytes(broken))
    assert [a.external_id for a in result.advisories] == ["A-1"]
    assert result.errors[0].location == "A-2.json"
    assert "cannot be read" in result.errors[0].message
    # an archive cut inside an entry's data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("A-2.json")
    assert osv_documents._plain_entry_bytes(data[: info.header_offset + 40], info) is None
    assert osv_documents._plain_entry_bytes(data[: info.header_offset + 10], info) is None


def _nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels - 2):  # the record and database_specific are two levels
        value = [value]
    return value


@pytest.mark.parametrize("levels", [9, 10, 11, 40])
def test_depth_limit_holds_for_small_records(levels: int) -> None:
    limits = FeedLimits(max_depth=10)
    value = record(id="A-1", affected=[], database_specific={"deep": _nested(levels)})
    payload = json.dumps(value).encode()
    single = osv.parse(payload, limits=limits) if levels <= 10 else None
    archived = osv.parse(zip_of({"A-1.json": payload}), limits=limits)
    if levels <= 10:
        assert single is not None and len(single.advisories) == 1
        assert len(archived.advisories) == 1
    else:
        with pytest.raises(FeedError, match="max_depth"):
            osv.parse(payload, limits=limits)
        assert not archived.advisories
        assert "max_depth" in archived.errors[0].message


def test_few_brackets_but_bad_json_keeps_the_message() -> None:
    result = osv.parse(zip_of({"A-1.json": b'{"id": "A-1", "modified": }'}))
    assert result.errors[0].location == "A-1.json"
    assert result.errors[0].message.startswith("not JSON: ")
    assert "at line 1, column" in result.errors[0].message
