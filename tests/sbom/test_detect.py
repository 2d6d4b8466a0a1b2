"""sbom_sniff: the format from the content alone, cheaply, and the upload-time refusals."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest

from evidence.sbom import Detected, Limits, SbomParseError, sbom_parse, sbom_sniff
from tests.conftest import DATA
from tests.sbom.test_fixtures import EXPECTED

GOOD = DATA / "sbom"


@pytest.mark.parametrize(
    ("name", "detected"),
    [
        ("small-1.6.cdx.json", ("cyclonedx", "json")),
        ("small-1.6.cdx.xml", ("cyclonedx", "xml")),
        ("small-lenient.spdx", ("spdx", "tag-value")),
        ("small.spdx.yaml", ("spdx", "yaml")),
        ("small.spdx3.json", ("spdx", "json-ld")),
    ],
)
def test_sniff_names_the_format_and_encoding(name: str, detected: tuple[str, str]) -> None:
    data = (GOOD / name).read_bytes()
    assert sbom_sniff(data) == Detected(*detected, compressed=False)
    assert sbom_sniff(gzip.compress(data)) == Detected(*detected, compressed=True)
    result = sbom_parse(data)
    assert (result.format, result.encoding) == detected


def test_sniff_agrees_with_parse_on_every_fixture(fixtures_dir: Path) -> None:
    for name, (count, detail) in EXPECTED.items():
        data = (fixtures_dir / name).read_bytes()
        if name.endswith(".xz"):
            data = lzma.decompress(data)
        detected = sbom_sniff(data)
        if count is not None:
            assert f"{detected.format}/{detected.encoding}/" in f"{detail}/", name


def test_the_file_name_plays_no_part() -> None:
    """Same bytes, whatever they are called: there is no file name to give."""
    data = (GOOD / "small.spdx.yaml").read_bytes()
    assert sbom_sniff(data).encoding == "yaml"
    assert "filename" not in sbom_sniff.__code__.co_varnames


def test_spdx_json_with_sorted_keys_is_recognised_past_its_packages() -> None:
    packages = ",".join(f'{{"SPDXID": "SPDXRef-{i}", "name": "p{i}"}}' for i in range(20_000))
    data = f'{{"name": "x", "packages": [{packages}], "spdxVersion": "SPDX-2.3"}}'.encode()
    assert len(data) > 2 * 65536
    assert sbom_sniff(data) == Detected("spdx", "json")


def test_utf8_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + (GOOD / "small-1.6.cdx.json").read_bytes()
    assert sbom_sniff(data).format == "cyclonedx"
    assert sbom_parse(data).component_count == 5


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "the document is empty"),
        (b" \r\n\t ", "the document is empty"),
        (gzip.compress(b"   "), "the document is empty"),
        (b"\xff\xfe{\x00}\x00", "UTF-16 little-endian byte order mark"),
        (b'{"bomFormat": "CycloneDX", "components": [', "truncated upload"),
        (b"[1, 2, 3]", "must be an object at the top level, not an array"),
        (b'{"hello": "world"}', "not an SBOM"),
        (b"not json at all", "not an SBOM"),
        (b"<html><body/></html>", "root element is <html>"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE bom SYSTEM "http://x.test/a.dtd"><bom/>', "DOCTYPE"),
        (gzip.compress(b"{}")[:10] + b"\xff" * 20, "gzip stream is corrupt"),
        (b"\x1f\x8b\x08\x00garbage", "gzip stream is truncated"),
        (gzip.compress(b'{"a": 1}') + b"trailing", "after the end of the gzip stream"),
        (b'{"bomFormat": "CycloneDX", "name": "caf\xc3"}', "not UTF-8"),
    ],
)
def test_sniff_refuses_with_a_clear_message(data: bytes, words: str) -> None:
    with pytest.raises(SbomParseError, match=words.replace("(", r"\(")):
        sbom_sniff(data)


def test_sniff_reads_a_big_gzip_upload_in_bounded_memory() -> None:
    """Decompressed chunk by chunk: a 64 MB document is sniffed, not held."""
    import tracemalloc

    body = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "pad": "' + b"x" * (64 << 20)
    data = gzip.compress(body + b'"}', compresslevel=1)
    tracemalloc.start()
    try:
        detected = sbom_sniff(data, limits=Limits(max_decompressed_bytes=100 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert detected == Detected("cyclonedx", "json", compressed=True)
    assert peak < 16 << 20


def test_multi_member_gzip_is_read_whole() -> None:
    data = (GOOD / "small-1.6.cdx.json").read_bytes()
    half = len(data) // 2
    joined = gzip.compress(data[:half]) + gzip.compress(data[half:])
    assert sbom_parse(joined).component_count == 5
