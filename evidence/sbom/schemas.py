"""CycloneDX schema validation against the schema files bundled in cyclonedx-python-lib, offline.

JSON documents are checked with jsonschema-rs (the strict schemas for 1.2 and 1.3, which refuse
unknown properties as 1.4+ do), XML documents with lxml against the XSD. Compiled validators are
cached per version. Nothing is ever fetched: the JSON retriever and the XSD resolver serve only
files from the bundled folder and refuse anything else.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON_STRICT, BOM_XML

from evidence.sbom.findings import Findings
from evidence.sbom.xmldoc import lxml_path

SUPPORTED_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
MAX_VIOLATIONS = 10_000
_MESSAGE_CHARS = 300
_CDX_NAMESPACE = re.compile(r"\{http://cyclonedx\.org/schema/bom/1\.\d+\}")


def _bundled(version: str, table: dict[SchemaVersion, str | None]) -> Path:
    path = table[SchemaVersion.from_version(version)]
    if path is None:  # not reachable for SUPPORTED_VERSIONS
        raise LookupError(f"no bundled CycloneDX {version} schema")
    return Path(path)


def _retrieve(uri: str) -> Any:
    """The referenced schemas (spdx, jsf, cryptography-defs) from the bundled folder."""
    folder = _bundled("1.6", BOM_JSON_STRICT).parent
    candidate = folder / uri.rsplit("/", 1)[-1]
    if not uri.startswith("http://cyclonedx.org/schema/") or not candidate.is_file():
        raise ValueError(f"schema {uri} is not bundled; refusing to fetch it")
    return orjson.loads(candidate.read_bytes())


@cache
def _json_validator(version: str) -> jsonschema_rs.Validator:
    schema = orjson.loads(_bundled(version, BOM_JSON_STRICT).read_bytes())
    return jsonschema_rs.validator_for(schema, retriever=_retrieve)


@cache
def _json_component_validator(version: str) -> jsonschema_rs.Validator:
    """The schema's component definition on its own, resolved within the original document.
    (A ValidatorMap would compile all 1,200 subschemas of 1.6: 100 MB.)"""
    schema = orjson.loads(_bundled(version, BOM_JSON_STRICT).read_bytes())
    component = {key: schema[key] for key in ("$schema", "$id", "definitions") if key in schema}
    component["allOf"] = [{"$ref": "#/definitions/component"}]
    return jsonschema_rs.validator_for(component, retriever=_retrieve, base_uri=schema["$id"])


def json_path(parts: list[str | int], root: str = "$") -> str:
    """['components', 3, 'name'] -> '$.components[3].name'."""
    out = [root]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def json_schema_check(doc: Any, version: str, findings: Findings, *, root: str = "$") -> bool:
    """Validate a CycloneDX JSON document; violations go to `findings` as 'schema' warnings.
    Returns whether the document is valid. Stops reporting after MAX_VIOLATIONS.

    With `root` (a JSON path such as '$.components[3]'), `doc` is one component of a document
    and is validated against the schema's component definition."""
    if findings.count("schema") >= MAX_VIOLATIONS:
        return False
    validator = _json_validator(version) if root == "$" else _json_component_validator(version)
    if validator.is_valid(doc):  # the common case, a tenth faster than collecting no errors
        return True
    valid = True
    for error in validator.iter_errors(doc):
        valid = False
        message = error.message
        if len(message) > _MESSAGE_CHARS:
            message = message[:_MESSAGE_CHARS] + "..."
        findings.add("schema", f"schema: {json_path(error.instance_path, root)}: {message}")
        if findings.count("schema") >= MAX_VIOLATIONS:
            findings.add(
                "document", f"schema: validation stopped after {MAX_VIOLATIONS:,} violations"
            )
            break
    return valid


_xsd_cache = threading.local()


def xsd_parser(folder: Path) -> Any:
    """An lxml parser for schema documents that loads imports only from `folder` and never
    touches the network."""
    from lxml import etree

    folder = folder.resolve()

    class BundledOnly(etree.Resolver):
        def resolve(self, url: str, pubid: str | None, context: Any) -> Any:
            candidate = Path(url).resolve() if "://" not in url else None
            if candidate is not None and candidate.parent == folder and candidate.is_file():
                return self.resolve_filename(str(candidate), context)
            return self.resolve_string("", context)  # refused: the import fails to load

    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(BundledOnly())
    return parser


def _xsd(version: str) -> Any:
    """The compiled XSD of `version`, per thread (lxml validators are not shared)."""
    from lxml import etree

    cache: dict[str, Any] = getattr(_xsd_cache, "schemas", None) or {}
    _xsd_cache.schemas = cache
    if version not in cache:
        path = _bundled(version, BOM_XML)
        cache[version] = etree.XMLSchema(etree.parse(str(path), xsd_parser(path.parent)))
    return cache[version]


def xml_schema_check(tree: Any, version: str, findings: Findings) -> bool:
    """Validate a CycloneDX XML document (an lxml element); violations go to `findings`."""
    schema = _xsd(version)
    if schema.validate(tree):
        return True
    for count, entry in enumerate(schema.error_log, start=1):
        message = _CDX_NAMESPACE.sub("", entry.message)
        if len(message) > _MESSAGE_CHARS:
            message = message[:_MESSAGE_CHARS] + "..."
        findings.add("schema", f"schema: {lxml_path(entry.path)}: {message}")
        if count >= MAX_VIOLATIONS:
            break
    return False
