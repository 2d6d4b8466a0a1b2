"""Nothing is fetched, nothing is written: schemas come from cyclonedx-python-lib's bundled
files, and spdx-tools' tag-value parser neither writes its tables nor rebuilds a licence index
on every licence field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from evidence.sbom import sbom_parse, schemas
from tests.conftest import DATA
from tests.sbom.synthetic import cyclonedx_rpm


def test_json_schemas_resolve_their_references_from_the_bundled_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    original = schemas._retrieve

    def recording(uri: str) -> Any:
        asked.append(uri)
        return original(uri)

    monkeypatch.setattr(schemas, "_retrieve", recording)
    schemas._json_validator.cache_clear()
    try:
        for version in schemas.SUPPORTED_VERSIONS:
            assert sbom_parse(cyclonedx_rpm(2, spec_version=version)).spec_version == version
    finally:
        schemas._json_validator.cache_clear()
    assert asked  # the spdx and jsf schemas, at least
    assert all(uri.startswith("http://cyclonedx.org/schema/") for uri in asked)
    assert {uri.rsplit("/", 1)[1] for uri in asked} <= {
        "spdx.SNAPSHOT.schema.json",
        "jsf-0.82.SNAPSHOT.schema.json",
        "cryptography-defs.SNAPSHOT.schema.json",
    }


def test_the_json_retriever_refuses_anything_not_bundled() -> None:
    for uri in (
        "https://json-schema.org/draft-07/schema",
        "http://cyclonedx.org/schema/../../../etc/passwd",
        "http://cyclonedx.org/schema/not-there.schema.json",
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError, match="not bundled"):
            schemas._retrieve(uri)


def test_xsd_imports_are_served_from_the_bundled_folder_only(tmp_path: Path) -> None:
    (tmp_path / "local.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="urn:local"><xs:element name="a"/></xs:schema>'
    )
    remote = tmp_path / "remote.xsd"
    remote.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">'
        '<xs:import namespace="urn:r" schemaLocation="http://127.0.0.1:9/remote.xsd"/>'
        '<xs:import namespace="urn:local" schemaLocation="local.xsd"/>'
        '<xs:element name="root"/></xs:schema>'
    )
    # The remote import is refused (an empty document, so the schema does not compile),
    # without a connection being attempted; a sibling file is allowed.
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(etree.parse(str(remote), schemas.xsd_parser(tmp_path)))
    remote.write_text(remote.read_text().replace("http://127.0.0.1:9/remote.xsd", "local.xsd"))
    etree.XMLSchema(etree.parse(str(remote), schemas.xsd_parser(tmp_path)))


def test_every_bundled_xsd_compiles() -> None:
    for version in schemas.SUPPORTED_VERSIONS:
        assert schemas._xsd(version) is not None


def test_schema_location_hints_in_a_document_are_not_followed() -> None:
    data = (
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:schemaLocation="http://cyclonedx.org/schema/bom/1.6 http://127.0.0.1:9/x.xsd">'
        b'<components><component type="library"><name>a</name></component></components></bom>'
    )
    assert sbom_parse(data).schema_valid is True


def _snapshot(folder: Path) -> dict[str, float]:
    return {
        str(path): path.stat().st_mtime
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_tag_value_parsing_writes_nothing_and_shares_the_licence_index() -> None:
    import spdx_tools.spdx.parser.tagvalue.parser as tagvalue_module
    from spdx_tools.common.spdx_licensing import spdx_licensing

    import evidence.sbom

    folders = [Path(tagvalue_module.__file__).parent, Path(evidence.sbom.__file__).parent]
    before = ([_snapshot(folder) for folder in folders], sorted(os.listdir()))
    data = (DATA / "sbom" / "small-lenient.spdx").read_bytes()
    for _ in range(3):
        sbom_parse(data)
    after = ([_snapshot(folder) for folder in folders], sorted(os.listdir()))

    assert after == before
    assert tagvalue_module.get_spdx_licensing() is spdx_licensing
