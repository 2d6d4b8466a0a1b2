"""`sbom_parse`: the one entry point that reads any supported SBOM, whatever its format."""

from __future__ import annotations

from typing import Any

from evidence.sbom import spdx_tools_bridge
from evidence.sbom.cyclonedx import cyclonedx_json, cyclonedx_json_stream
from evidence.sbom.cyclonedx_xml import NAMESPACE_PREFIX, cyclonedx_xml
from evidence.sbom.detect import (
    decompressed,
    json_format,
    syntax_of,
    text_check,
    text_format,
    xml_format,
)
from evidence.sbom.findings import Findings
from evidence.sbom.jsondoc import (
    STREAM_FROM,
    gc_paused,
    has_surrogate_escapes,
    json_depth_check,
    json_load,
    json_split,
    json_type,
)
from evidence.sbom.model import Limits, ParsedSbom, SbomParseError
from evidence.sbom.spdx2 import spdx2_read, version_check, xml_to_dict
from evidence.sbom.spdx2_tagvalue import spdx2_tag_value
from evidence.sbom.spdx3 import is_spdx3, spdx3_jsonld
from evidence.sbom.xmldoc import local_name, namespace_of, xml_parse
from evidence.sbom.yamldoc import yaml_load

_HEAD = 1 << 16


def sbom_parse(data: bytes, *, limits: Limits | None = None, hint: str = "") -> ParsedSbom:
    """Parse a CycloneDX (1.2-1.7, JSON or XML) or SPDX (2.2/2.3 JSON, YAML, tag-value, XML,
    RDF/XML; 3.0 JSON-LD) document, gzip-compressed or not.

    The format comes from the content; `hint` (a content type or a --format value such as
    'cyclonedx' or 'spdx') only breaks a tie. Schema violations that still leave the packages
    readable are listed in `warnings` with `schema_valid` False. Raises SbomParseError, saying
    what is wrong and where, for anything that cannot be read or breaks `limits`.

    The cyclic garbage collector is paused while a document is read (it would otherwise run
    over the hundreds of thousands of new, acyclic objects again and again) and restored after.
    """
    limits = limits or Limits()
    data, _ = decompressed(data, limits)
    data = text_check(data)
    syntax = syntax_of(data[:_HEAD])
    with gc_paused():
        if syntax == "json":
            return _json(data, limits, hint)
        if syntax == "xml":
            return _xml(data, limits)
        return _text(data, limits)


def _json(data: bytes, limits: Limits, hint: str) -> ParsedSbom:
    if len(data) >= STREAM_FROM:
        streamed = _cyclonedx_streamed(data, limits)
        if streamed is not None:
            return streamed
    doc = json_load(data, limits)
    if not isinstance(doc, dict):  # syntax_of saw '{', so only a broken parser gets here
        raise SbomParseError(
            f"a JSON SBOM must be an object at the top level, not {json_type(doc)}", location="$"
        )
    spdx3 = is_spdx3(doc)
    fmt, encoding = json_format(
        cyclonedx="bomFormat" in doc,
        spdx2="spdxVersion" in doc and not spdx3,
        spdx3=spdx3,
        hint=hint,
    )
    if fmt == "cyclonedx":
        if doc.get("bomFormat") != "CycloneDX":
            shown = doc.get("bomFormat")
            raise SbomParseError(
                f"'bomFormat' is {shown!r}, not 'CycloneDX'"
                if isinstance(shown, str)
                else f"'bomFormat' must be 'CycloneDX', not {json_type(shown)}",
                location="$.bomFormat",
            )
        return cyclonedx_json(doc, limits=limits, consume=True)
    if encoding == "json-ld":
        return spdx3_jsonld(doc, limits=limits)
    return _spdx2_dict(doc, limits, encoding="json")


def _cyclonedx_streamed(data: bytes, limits: Limits) -> ParsedSbom | None:
    """A big CycloneDX document read one component at a time (see cyclonedx_json_stream), so
    that its components never all exist as dicts at once; None if `data` is not a CycloneDX
    JSON document this way can read (the caller then decodes it whole, and reports errors)."""
    json_depth_check(data, limits)
    if has_surrogate_escapes(data):  # only orjson refuses unpaired ones
        return None
    try:
        text = data.decode("utf-8")
        members, starts = json_split(text, "components")
    except (ValueError, RecursionError):
        return None
    if members.get("bomFormat") != "CycloneDX" or "spdxVersion" in members or is_spdx3(members):
        return None
    return cyclonedx_json_stream(members, text, starts, limits=limits)


def _spdx2_dict(doc: dict[str, Any], limits: Limits, *, encoding: str) -> ParsedSbom:
    where = "/Document/spdxVersion" if encoding == "xml" else "$.spdxVersion"
    version_check(doc.get("spdxVersion"), where=where)
    findings = Findings()
    schema_valid = spdx_tools_bridge.check_dict(doc, findings)
    return spdx2_read(
        doc, limits=limits, encoding=encoding, findings=findings, schema_valid=schema_valid
    )


def _xml(data: bytes, limits: Limits) -> ParsedSbom:
    root = xml_parse(data, limits)
    local, namespace = local_name(root.tag), namespace_of(root.tag)
    if local == "bom" and namespace.startswith(NAMESPACE_PREFIX):
        return cyclonedx_xml(root, limits=limits)
    if local == "RDF" and "spdx.org/rdf/terms" in data[:_HEAD].decode("utf-8", "replace"):
        findings = Findings()
        doc, schema_valid = spdx_tools_bridge.rdf_document(data, findings)
        return spdx2_read(
            doc, limits=limits, encoding="rdf", findings=findings, schema_valid=schema_valid
        )
    if local == "Document" and not namespace:
        doc = xml_to_dict(root, spdx_tools_bridge.XML_LIST_FIELDS)
        if not isinstance(doc, dict):
            raise SbomParseError("the SPDX XML <Document> element is empty", location="/Document")
        return _spdx2_dict(doc, limits, encoding="xml")
    xml_format(data[:_HEAD])  # raises, naming the root element that is not an SBOM's
    raise SbomParseError(f"not an SBOM: an XML document whose root element is <{local}>")


def _text(data: bytes, limits: Limits) -> ParsedSbom:
    _, encoding = text_format(
        data[:_HEAD], tag_value=b"\nSPDXVersion:" in data, yaml=b"\nspdxVersion:" in data
    )
    if encoding == "tag-value":
        return spdx2_tag_value(data.decode("utf-8"), limits=limits)
    doc = yaml_load(data, limits)
    if not isinstance(doc, dict):
        raise SbomParseError(
            f"an SPDX YAML document must be a mapping at the top level, not {json_type(doc)}",
            location="line 1",
        )
    return _spdx2_dict(doc, limits, encoding="yaml")
