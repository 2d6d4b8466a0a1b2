"""XML documents: parsed by defusedxml with DTDs, entities and external references refused, and
nesting cut off at `max_depth` while parsing. lxml only ever sees a tree defusedxml built, so it
never meets a DOCTYPE, an entity or anything to fetch.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from evidence.sbom.detect import xml_doctype_check
from evidence.sbom.model import Limits, SbomParseError

_NS_PREFIX = re.compile(r"\bns\d+:")


def local_name(tag: str) -> str:
    """'{http://cyclonedx.org/schema/bom/1.6}component' -> 'component'."""
    return tag.rpartition("}")[2]


def namespace_of(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _doctype_offset(data: bytes) -> str:
    offset = data.find(b"<!DOCTYPE")
    if offset < 0:
        offset = data.find(b"<!ENTITY")
    if offset < 0:
        return ""
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}"


def xml_parse(data: bytes, limits: Limits) -> ET.Element:
    """The root element of `data`, or SbomParseError saying what is refused or malformed and
    where (line and column, or the element path where nesting passes the limit)."""
    xml_doctype_check(data)
    events = DefusedET.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    path: list[str] = []
    try:
        for event, element in events:
            if event == "start":
                path.append(local_name(element.tag))
                if len(path) > limits.max_depth:
                    shown = "/".join(path[:6])
                    raise SbomParseError(
                        f"XML nested deeper than {limits.max_depth} levels (max_depth)",
                        location=f"/{shown}/... (element {len(path)} levels down)",
                    )
            else:
                path.pop()
    except DTDForbidden:
        raise SbomParseError(
            "XML with a DOCTYPE declaration is refused (DTDs and entities are not accepted "
            "in SBOMs)",
            location=_doctype_offset(data),
        ) from None
    except EntitiesForbidden as exc:
        raise SbomParseError(
            f"XML entity declarations are refused (entity {exc.name!r})",
            location=_doctype_offset(data),
        ) from None
    except ExternalReferenceForbidden as exc:
        raise SbomParseError(
            f"XML external references are refused ({exc.sysid or exc.pubid!r})"
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        message = str(exc).split(": line ")[0]
        raise SbomParseError(
            f"not well-formed XML: {message}", location=f"line {line}, column {column + 1}"
        ) from None
    root: ET.Element = events.root  # type: ignore[attr-defined]
    return root


def lxml_tree(root: ET.Element) -> Any:
    """The same tree as an lxml element, for XSD validation. It is re-serialised from the
    defused tree and read back with entity resolution, DTD loading and network access off."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(ET.tostring(root, encoding="utf-8"), parser)


def lxml_path(path: str | None) -> str:
    """An lxml error path without the ns0: prefixes re-serialisation adds."""
    return _NS_PREFIX.sub("", path or "") or "/"
