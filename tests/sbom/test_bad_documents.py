"""Hostile and broken documents: the corpus in tests/data/sbom-bad (see its README.md) and the
ones too big to keep, made here. Each is refused with a message saying what and where, or read
with a warning saying what was wrong."""

from __future__ import annotations

import contextlib
import gzip
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

from evidence.sbom import Limits, SbomParseError, sbom_parse, sbom_sniff
from tests.conftest import DATA
from tests.sbom.synthetic import cyclonedx_rpm

BAD = DATA / "sbom-bad"


@dataclass(frozen=True)
class Refused:
    words: tuple[str, ...]
    location: str = ""  # what the location must contain, when there is one to give


@dataclass(frozen=True)
class Read:
    count: int
    warning: str
    schema_valid: bool | None = True


OUTCOMES: dict[str, Refused | Read] = {
    "ambiguous.json": Refused(("ambiguous", "CycloneDX JSON and SPDX 2 JSON"), "$"),
    "bad-timestamp.cdx.json": Read(1, "'yesterday at noon' is not an ISO 8601 date-time", False),
    "billion-laughs.cdx.xml": Refused(("DOCTYPE", "refused"), "line 2"),
    "blank.txt": Refused(("the document is empty",)),
    "bom-format-wrong.json": Refused(("'bomFormat' is 'SPDX', not 'CycloneDX'",), "$.bomFormat"),
    "component-not-an-object.cdx.json": Refused(
        ("a component must be an object, not a string",), "$.components[0]"
    ),
    "components-not-a-list.cdx.json": Refused(
        ("'components' must be an array, not an object",), "$.components"
    ),
    "cyclonedx-1.1.xml": Refused(("unsupported CycloneDX specVersion '1.1'", "1.2, 1.3"), "/bom"),
    "deep-components.cdx.json": Refused(("nested deeper than 64 levels",), "line 1, column"),
    "deep-nesting.cdx.json": Refused(("JSON nested deeper than 64 levels",), "line 1, column"),
    "deep-nesting.cdx.xml": Refused(("XML nested deeper than 64 levels",), "/bom/x/x"),
    "doctype.cdx.xml": Refused(("DOCTYPE",), "line 3"),
    "duplicate-bom-refs.cdx.json": Read(3, "$.components[1]: duplicate reference 'pkg-1'"),
    "empty.json": Refused(("the document is empty",)),
    "external-entity.cdx.xml": Refused(("DOCTYPE", "refused"), "line 2"),
    "garbage.spdx": Refused(("not SPDX tag-value", "This line is not a tag"), "line 4"),
    "hash-not-hex.cdx.json": Read(1, "SHA-256 hash 'zzzz", False),
    "invalid-utf8.cdx.json": Refused(("not UTF-8", "0xff", "offset 344"), "line 17"),
    "json-number.json": Refused(("not an SBOM", "'42"), "byte 0"),
    "malformed.cdx.xml": Refused(("not well-formed XML", "mismatched tag"), "line 5, column 5"),
    "naive-timestamp.cdx.json": Read(1, "has no time zone", False),
    "no-identity.cdx.json": Refused(("cannot be identified",), "$.components[1]"),
    "not-an-sbom.json": Refused(("not an SBOM", "bomFormat"), "$"),
    "not-an-sbom.xml": Refused(("not an SBOM", "root element is <html>"), "line 1"),
    "png-image.bin": Refused(("not UTF-8", "0x89", "offset 0"), "byte 0"),
    "purl-garbage.cdx.json": Read(3, "'not a purl at all' is not a valid package URL"),
    "schema-violation.cdx.json": Read(2, "'colour' was unexpected", False),
    "spdx-missing-fields.spdx.json": Read(2, "spdx_id is missing", False),
    "spdx-package-without-name.spdx.json": Refused(("cannot be identified",), "$.packages[1]"),
    "spdx-packages-not-a-list.spdx.json": Refused(("'packages' must be an array",), "$.packages"),
    "spdx-unknown-version.spdx.json": Refused(
        ("unsupported SPDX version 'SPDX-2.1'", "SPDX-2.2, SPDX-2.3"), "$.spdxVersion"
    ),
    "spdx3-graph-not-a-list.spdx3.json": Refused(("'@graph' must be an array",), "@graph"),
    "spdx3-unknown-version.spdx3.json": Refused(("unsupported SPDX 3 specVersion '3.9.0'",), "C"),
    "top-level-array.json": Refused(("must be an object at the top level, not an array",), "$"),
    "top-level-string.json": Refused(("must be an object at the top level, not a string",), "$"),
    "trailing-comma.cdx.json": Refused(("not JSON", "trailing comma"), "line 5, column"),
    "truncated.cdx.json": Refused(("not JSON", "truncated"), "line 12"),
    "truncated.cdx.json.gz": Refused(("the gzip stream is truncated",), "byte"),
    "unknown-spec-version.cdx.json": Refused(
        ("unsupported CycloneDX specVersion '9.9'", "1.2, 1.3, 1.4, 1.5, 1.6, 1.7"),
        "$.specVersion",
    ),
    "unterminated-text.spdx": Refused(("<text>", "never closed"), "line 7"),
    "utf16-no-bom.cdx.json": Refused(("not UTF-8", "NUL byte"), "byte 1"),
    "utf16.cdx.json": Refused(("not UTF-8", "UTF-16 little-endian byte order mark"), "byte 0"),
    "vex-only.cdx.json": Refused(("VEX document", "lists no components"), "$.vulnerabilities"),
    "wrong-types.cdx.json": Refused(("'name' must be a string, not a number",), "[1].name"),
    "yaml-aliases.spdx.yaml": Refused(("YAML aliases are refused",), "line 3, column"),
    "yaml-python-tag.spdx.yaml": Refused(("not YAML", "python/object"), "line 2"),
}


def test_every_corpus_file_has_an_outcome_and_a_line_in_the_readme() -> None:
    files = {path.name for path in BAD.iterdir()} - {"README.md"}
    assert files == set(OUTCOMES)
    readme = (BAD / "README.md").read_text()
    assert [name for name in sorted(OUTCOMES) if f"`{name}`" not in readme] == []


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_bad_document_outcome(name: str) -> None:
    data = (BAD / name).read_bytes()
    outcome = OUTCOMES[name]
    if isinstance(outcome, Refused):
        with pytest.raises(SbomParseError) as refused:
            sbom_parse(data)
        message = str(refused.value)
        assert all(word in message for word in outcome.words), message
        assert outcome.location in refused.value.location
        assert "Traceback" not in message
    else:
        result = sbom_parse(data)
        assert result.component_count == outcome.count
        assert any(outcome.warning in warning for warning in result.warnings), result.warnings
        assert result.schema_valid is outcome.schema_valid


@pytest.mark.parametrize("name", ["deep-nesting.cdx.json", "deep-nesting.cdx.xml"])
def test_ten_thousand_levels_are_refused_quickly(name: str) -> None:
    data = (BAD / name).read_bytes()
    start = time.perf_counter()
    with pytest.raises(SbomParseError, match="nested deeper"):
        sbom_parse(data)
    assert time.perf_counter() - start < 1.0


def test_the_ambiguous_document_is_read_when_the_hint_says_which() -> None:
    data = (BAD / "ambiguous.json").read_bytes()
    assert sbom_parse(data, hint="application/vnd.cyclonedx+json").format == "cyclonedx"
    assert sbom_sniff(data, hint="cyclonedx").format == "cyclonedx"
    as_spdx = sbom_parse(data, hint="spdx")
    assert (as_spdx.format, as_spdx.component_count) == ("spdx", 0)


def _bomb(size: int) -> bytes:
    return gzip.compress(b" " * size, compresslevel=9)


def test_gzip_bomb_is_refused_by_sniff_and_parse_without_inflating_it() -> None:
    limits = Limits(max_decompressed_bytes=1_000_000)
    bomb = _bomb(50_000_000)  # ~50 KB that would expand to 50 MB
    assert len(bomb) < 100_000
    for check in (sbom_sniff, sbom_parse):
        with pytest.raises(SbomParseError, match="gzip bomb") as refused:
            check(bomb, limits=limits)
        assert "1,000,000 bytes (max_decompressed_bytes)" in str(refused.value)


def test_gzip_compressed_sbom_is_read() -> None:
    data = gzip.compress(cyclonedx_rpm(20))
    detected = sbom_sniff(data)
    assert (detected.format, detected.encoding, detected.compressed) == ("cyclonedx", "json", True)
    assert sbom_parse(data).component_count == 20


def test_over_max_bytes_is_refused_before_reading() -> None:
    with pytest.raises(SbomParseError, match=r"the document is 1,001 bytes; the limit is 1,000"):
        sbom_parse(b"{" + b" " * 999 + b"}", limits=Limits(max_bytes=1000))


def _cdx(components: Sequence[Mapping[str, object]]) -> bytes:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}
    ).encode()


def test_a_one_megabyte_component_name_is_refused_naming_where_and_the_limit() -> None:
    data = _cdx([{"type": "library", "name": "ok"}, {"type": "library", "name": "x" * 1_048_576}])
    with pytest.raises(SbomParseError) as refused:
        sbom_parse(data)
    assert "the component name is 1,048,576 characters long" in str(refused.value)
    assert "the limit is 8,192 characters (max_string)" in str(refused.value)
    assert refused.value.location == "$.components[1]"


def test_a_one_megabyte_name_in_xml_and_tag_value_is_refused_too() -> None:
    name = "y" * 1_048_576
    xml = (
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>'
        f'<component type="library"><name>{name}</name></component></components></bom>'
    ).encode()
    tag_value = f"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nPackageName: {name}\n".encode()
    for data, where in ((xml, "/bom/components/component[1]"), (tag_value, "line 3")):
        with pytest.raises(SbomParseError, match="1,048,576 characters long") as refused:
            sbom_parse(data)
        assert refused.value.location == where


def test_more_components_than_the_limit_are_refused() -> None:
    with pytest.raises(SbomParseError, match="more than 5 components") as refused:
        sbom_parse(cyclonedx_rpm(6, nested_every=0), limits=Limits(max_components=5))
    assert refused.value.location == "$.components[5]"


def test_component_nesting_is_limited_even_below_the_json_depth_limit() -> None:
    from evidence.sbom.cyclonedx import cyclonedx_json

    nested: dict[str, object] = {"type": "library", "name": "leaf"}
    for level in range(5):
        nested = {"type": "library", "name": f"level{level}", "components": [nested]}
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [nested]}
    with pytest.raises(SbomParseError, match="components nested deeper than 3 levels") as refused:
        cyclonedx_json(doc, limits=Limits(max_depth=3))
    assert refused.value.location == "$.components[0].components[0].components[0].components"


def test_a_large_schema_violation_list_is_capped() -> None:
    components = [{"type": "library", "name": f"p{i}", "colour": "blue"} for i in range(120)]
    result = sbom_parse(_cdx(components))

    schema = [warning for warning in result.warnings if warning.startswith("schema:")]
    assert len(schema) == 50
    assert "... and 70 more schema warnings" in result.warnings
    assert result.component_count == 120
    assert result.schema_valid is False


def test_garbage_in_every_place_gives_a_parse_error_not_a_crash() -> None:
    """Each corpus document with a few bytes flipped: refused or read, never an exception of
    another kind."""
    for path in sorted(BAD.iterdir()):
        data = bytearray(path.read_bytes())
        for position in range(0, len(data), max(1, len(data) // 7)):
            mutated = bytearray(data)
            mutated[position] ^= 0x5A
            with contextlib.suppress(SbomParseError):
                sbom_parse(bytes(mutated))
