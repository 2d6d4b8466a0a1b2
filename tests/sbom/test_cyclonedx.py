"""CycloneDX JSON and XML: what is read from a component, the counting rule, the document facts,
schema validation, and a 10,000-component document."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from evidence.sbom import Component, Limits, ParsedSbom, SbomParseError, sbom_parse
from tests.conftest import DATA
from tests.sbom.synthetic import cyclonedx_rpm

GOOD = DATA / "sbom"


def bom(components: list[dict[str, object]], **extra: object) -> bytes:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components, **extra}
    ).encode()


def test_components_built_on_the_hot_path_equal_components_built_by_the_class() -> None:
    from evidence.sbom.components import component_new

    values = ("pkg:rpm/a/b@1-2", "rpm", "b", "1-2", "a", "3", "2", "x86_64", "d", "")
    extra = ((("sha256", "ab"),), ("MIT",), "ACME", "ref")
    fast, slow = component_new(*values, *extra), Component(*values, *extra)
    assert fast == slow
    assert type(fast) is type(slow) is Component
    assert hash(fast) == hash(slow)
    assert fast._asdict() == slow._asdict()
    assert fast._asdict() == dict(zip(Component._fields, (*values, *extra), strict=True))
    with pytest.raises(AttributeError):
        fast.name = "c"  # type: ignore[misc]


def test_small_bom_is_read_the_same_from_json_and_xml() -> None:
    from_json = sbom_parse((GOOD / "small-1.6.cdx.json").read_bytes())
    from_xml = sbom_parse((GOOD / "small-1.6.cdx.xml").read_bytes())

    assert from_json.components == from_xml.components
    for field in ("component_count", "created_at", "subject", "ntia", "schema_valid"):
        assert getattr(from_json, field) == getattr(from_xml, field), field
    # The warnings say the same things, in each encoding's notation for where.
    assert len(from_json.warnings) == len(from_xml.warnings) == 2


def test_component_fields() -> None:
    result = sbom_parse((GOOD / "small-1.6.cdx.json").read_bytes())
    openssl, libssl, passwd, agent, requests = result.components

    assert openssl == Component(
        purl="pkg:rpm/azurelinux/openssl-libs@3.3.2-1.azl4"
        "?arch=x86_64&distro=azurelinux-4.0&epoch=1",
        type="rpm",
        name="openssl-libs",
        version="3.3.2-1.azl4",
        namespace="azurelinux",
        epoch="1",
        release="1.azl4",
        arch="x86_64",
        distro="azurelinux-4.0",
        hashes=(("sha256", "9215c64e7289a058248728089e4d98ed1cc392bb5eb9b8fcbe661d57e8145bbd"),),
        licenses=("Apache-2.0",),
        supplier="Microsoft",
        bom_ref="openssl-libs",
    )
    # A nested component without a purl: counted, after its parent, with a derived purl.
    assert (libssl.purl, libssl.bom_ref) == ("pkg:generic/libssl.so.3@3.3.2", "libssl")
    assert (passwd.version, passwd.epoch, passwd.release) == (
        "1:4.13+dfsg1-1+deb12u1",
        "1",
        "1+deb12u1",
    )
    assert passwd.licenses == ("GPL-2.0-or-later OR BSD-3-Clause",)
    # No purl but a CPE: the identity comes from the CPE; the publisher is the supplier.
    assert agent.purl == "pkg:generic/patchproof-agent@0.3.0"
    assert (agent.cpe, agent.supplier) == (
        "cpe:2.3:a:patchproof:patchproof-agent:0.3.0:*:*:*:*:*:*:*",
        "Patchproof",
    )
    assert requests.purl == "pkg:pypi/requests@2.32.3"  # canonical: pypi names are lowercase


def test_document_facts_and_ntia() -> None:
    result = sbom_parse((GOOD / "small-1.6.cdx.json").read_bytes())

    assert result.created_at == datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert result.subject == "web-01.example.test 4.0"
    assert result.schema_valid is True
    assert result.ntia == {
        "supplier": 0.4,
        "name": 1.0,
        "version": 1.0,
        "unique_identifier": 0.8,  # libssl.so.3 has neither purl nor CPE
        "dependencies": 1.0,
        "author": 1.0,
        "timestamp": 1.0,
    }
    assert result.ntia_completeness == pytest.approx((0.4 + 1 + 1 + 0.8 + 1 + 1 + 1) / 7)


def test_nested_components_count_in_document_order_and_metadata_component_does_not() -> None:
    result = sbom_parse((DATA / "nested-components.cdx.json").read_bytes())

    assert result.component_count == 5
    assert [c.name for c in result.components] == [
        "openssl",
        "openssl-libs",
        "libssl.so.3",
        "curl",
        "bash",
    ]


def test_schema_violations_are_warnings_when_the_packages_can_be_read() -> None:
    data = bom(
        [
            {"type": "library", "name": "a", "version": "1", "purl": "pkg:generic/a@1"},
            {"type": "no-such-type", "name": "b", "version": "2", "purl": "pkg:generic/b@2"},
        ],
        metadata={"timestamp": "2026-01-01T00:00:00Z", "tools": [{"name": "x"}]},
    )
    result = sbom_parse(data)

    assert result.component_count == 2
    assert result.schema_valid is False
    assert any(warning.startswith("schema: $.components[1].type") for warning in result.warnings), (
        result.warnings
    )


def test_spec_versions_1_2_to_1_7_are_validated_against_their_own_schema() -> None:
    for version in ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7"):
        result = sbom_parse(cyclonedx_rpm(3, nested_every=0, spec_version=version))
        assert result.spec_version == version
        # metadata.tools as an object is 1.5+; 1.2-1.4 (strict schemas) refuse it.
        assert result.schema_valid is (version >= "1.5"), (version, result.warnings)
        assert result.component_count == 3


def test_duplicate_reference_with_the_described_component_is_reported() -> None:
    data = bom(
        [{"type": "library", "name": "a", "bom-ref": "root", "purl": "pkg:generic/a@1"}],
        metadata={"component": {"type": "application", "name": "app", "bom-ref": "root"}},
    )
    result = sbom_parse(data)
    assert "$.components[0]: duplicate reference 'root' (first used at $.metadata.component)" in (
        result.warnings
    )


def test_empty_bom_is_read_with_a_warning() -> None:
    result = sbom_parse(bom([]))
    assert result.component_count == 0
    assert "the document lists no components" in result.warnings
    assert result.ntia["supplier"] == 0.0


@pytest.mark.parametrize(
    ("component", "words", "where"),
    [
        ({"type": "library", "name": ["a"]}, "'name' must be a string, not an array", "name"),
        ({"type": "library", "name": "a", "purl": 7}, "'purl' must be a string", "purl"),
        ({"type": "library", "name": "a", "bom-ref": {}}, "'bom-ref' must be a string", "ref"),
    ],
)
def test_identity_fields_of_the_wrong_type_are_refused(
    component: dict[str, object], words: str, where: str
) -> None:
    with pytest.raises(SbomParseError, match=words) as refused:
        sbom_parse(bom([component]))
    assert refused.value.location.startswith("$.components[0]")
    assert where in refused.value.location


def test_auxiliary_fields_of_the_wrong_type_are_schema_warnings() -> None:
    data = bom(
        [
            {
                "type": "library",
                "name": "a",
                "purl": "pkg:generic/a@1",
                "hashes": "sha256:abc",
                "licenses": {"id": "MIT"},
                "supplier": "ACME",
            }
        ]
    )
    result = sbom_parse(data)
    assert result.component_count == 1
    assert (result.components[0].hashes, result.components[0].licenses) == ((), ())
    assert result.schema_valid is False


def test_ten_thousand_components_with_rpm_purls() -> None:
    result = sbom_parse(cyclonedx_rpm(10_000))

    assert result.component_count == 10_000
    assert result.schema_valid is True
    assert result.warnings == []
    first = result.components[0]
    assert (first.type, first.epoch, first.release, first.distro) == (
        "rpm",
        "1",
        "1.azl4",
        "azurelinux-4",
    )
    assert result.components[10].purl == "pkg:generic/lib10.so@1"  # nested, after its parent
    assert len({c.purl for c in result.components}) == 10_000


def test_xml_component_paths_in_messages() -> None:
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components>'
        b'<component type="library"><name>a</name><purl>pkg:generic/a@1</purl></component>'
        b'<component type="library"><version>1</version></component>'
        b"</components></bom>"
    )
    with pytest.raises(SbomParseError, match="cannot be identified") as refused:
        sbom_parse(data)
    assert refused.value.location == "/bom/components/component[2]"


def test_xml_schema_violations_are_warnings_with_element_paths() -> None:
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>'
        b'<component type="library"><name>a</name><colour>blue</colour></component>'
        b"</components></bom>"
    )
    result = sbom_parse(data)
    assert result.component_count == 1
    assert result.schema_valid is False
    assert any(
        w.startswith("schema: /bom/components/component") and "colour" in w for w in result.warnings
    ), result.warnings


def test_xml_vex_only_is_refused() -> None:
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><vulnerabilities>'
        b"<vulnerability><id>CVE-2024-1</id></vulnerability>"
        b"</vulnerabilities></bom>"
    )
    with pytest.raises(SbomParseError, match="VEX document"):
        sbom_parse(data)


def test_limits_apply_to_xml_components() -> None:
    components = b"".join(
        b'<component type="library"><name>p%d</name></component>' % i for i in range(4)
    )
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>'
        + components
        + b"</components></bom>"
    )
    with pytest.raises(SbomParseError, match="more than 3 components"):
        sbom_parse(data, limits=Limits(max_components=3))


def streamed_and_whole(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> tuple[ParsedSbom | str, ParsedSbom | str]:
    import evidence.sbom.parse

    try:
        whole: ParsedSbom | str = sbom_parse(data)
    except SbomParseError as exc:
        whole = str(exc)
    with monkeypatch.context() as patch:
        patch.setattr(evidence.sbom.parse, "STREAM_FROM", 0)
        try:
            streamed: ParsedSbom | str = sbom_parse(data)
        except SbomParseError as exc:
            streamed = str(exc)
    return whole, streamed


def test_big_documents_read_one_component_at_a_time_give_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Documents over STREAM_FROM are never decoded whole (see cyclonedx_json_stream); the
    result must not depend on which way a document was read."""
    documents = [
        cyclonedx_rpm(500),
        (GOOD / "small-1.6.cdx.json").read_bytes(),
        (DATA / "nested-components.cdx.json").read_bytes(),
        *(
            path.read_bytes()
            for path in sorted((DATA / "sbom-bad").glob("*.json"))
            if path.name != "deep-nesting.cdx.json"
        ),
    ]
    for data in documents:
        whole, streamed = streamed_and_whole(data, monkeypatch)
        if isinstance(whole, str):
            assert streamed == whole
            continue
        assert not isinstance(streamed, str), streamed
        for field in ("components", "component_count", "created_at", "subject", "ntia"):
            assert getattr(streamed, field) == getattr(whole, field), field
        assert streamed.schema_valid == whole.schema_valid
        assert sorted(streamed.warnings) == sorted(whole.warnings)


def test_cyclonedx_fixtures_read_one_component_at_a_time(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in sorted((fixtures_dir / "cyclonedx").glob("*.json")):
        whole, streamed = streamed_and_whole(path.read_bytes(), monkeypatch)
        if isinstance(whole, str) or isinstance(streamed, str):
            assert streamed == whole, path.name
        else:
            assert streamed.components == whole.components, path.name
            assert streamed.warnings == whole.warnings, path.name


def test_a_document_read_again_with_its_purls_cached_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Purl parses are kept between documents (components._purls); a second read, from the
    cache, and a read with the cache cleared before every purl give the same result, warnings
    (an invalid purl is never cached) included."""
    from evidence.sbom import components as components_module

    data = bom(
        [
            {"type": "library", "name": "a", "purl": "pkg:rpm/fedora/a@1.0-1.fc40?arch=x86_64"},
            {"type": "library", "name": "b", "purl": "pkg:npm/%40scope/B@2"},
            {"type": "library", "name": "c", "purl": "not a purl"},
            {"type": "library", "name": "a2", "purl": "pkg:rpm/fedora/a@1.0-1.fc40?arch=x86_64"},
        ]
    )
    components_module._purls.clear()
    first = sbom_parse(data)
    assert "pkg:rpm/fedora/a@1.0-1.fc40?arch=x86_64" in components_module._purls
    assert "not a purl" not in components_module._purls
    cached = sbom_parse(data)
    monkeypatch.setattr(components_module, "_PURLS_KEPT", 0)
    uncached = sbom_parse(data)
    assert first == cached == uncached
    assert any("not a valid package URL" in warning for warning in cached.warnings)
