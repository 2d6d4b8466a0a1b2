"""spdx-tools (0.8.x) for what it does well: reading tag-value and RDF/XML into its model, and
validating SPDX 2 documents. Its findings become warnings; they never decide what is ingested.

Budgets, because spdx-tools is slow on real documents:
- its parser costs about 0.5 ms a package, so documents with more than MAX_PACKAGES packages,
  or tag-value text over MAX_TAG_VALUE_BYTES, are not given to it (schema_valid is then None);
- its full validator is quadratic (it rebuilds the list of every SPDX id for each relationship:
  26 s for Syft's 8,289-file UBI image), so it runs on the document without files and snippets
  (never ingested), and only up to FULL_VALIDATION_BUDGET packages x relationships; above that
  each package is validated on its own and relationship references are checked here with a set.
- the tag-value parser builds a new SPDX licence index for every licence field (35 ms each);
  `get_spdx_licensing` is pointed at the shared index once, below.
"""

from __future__ import annotations

import re
from typing import Any

import spdx_tools.spdx.parser.tagvalue.parser as _tagvalue
from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.jsonschema.document_converter import (
    DocumentConverter,
)
from spdx_tools.spdx.model import Document
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import (
    JsonLikeDictParser,
)
from spdx_tools.spdx.parser.xml.xml_parser import (
    LIST_LIKE_FIELDS,
)
from spdx_tools.spdx.validation.creation_info_validator import (
    validate_creation_info,
)
from spdx_tools.spdx.validation.document_validator import (
    validate_full_spdx_document,
)
from spdx_tools.spdx.validation.extracted_licensing_info_validator import (
    validate_extracted_licensing_infos,
)
from spdx_tools.spdx.validation.package_validator import (
    validate_package,
)
from spdx_tools.spdx.validation.validation_message import (
    ValidationContext,
    ValidationMessage,
)

from evidence.sbom.findings import Findings
from evidence.sbom.model import SbomParseError
from evidence.sbom.spdx2 import as_list

MAX_PACKAGES = 5_000
MAX_TAG_VALUE_BYTES = 4 * 1024 * 1024
FULL_VALIDATION_BUDGET = 2_000_000
_MESSAGE_CHARS = 300
# spdx-tools raises these (besides its own SPDXParsingError) on structurally odd input.
_CRASHES = (AttributeError, TypeError, ValueError, KeyError, IndexError)

# Fields of SPDX XML that are lists even when they hold one element.
XML_LIST_FIELDS = frozenset(LIST_LIKE_FIELDS)

# The same licence index the JSON and RDF parsers of spdx-tools already share.
_tagvalue.get_spdx_licensing = lambda: spdx_licensing


# spdx-tools passes on beartype's account of a bad field, which names its internals and the
# whole type hint; what a user needs is which field of which element.
_SETTER_ERROR = re.compile(
    r"SetterError (\w+): Method \S+ parameter (\w+)=(?:\"([^\"]*)\"|(\S+)) violates type hint "
    r".*?(?=\\?['\"]\]|\\?['\"], |$)"
)


def _readable(message: str) -> str:
    def setter(match: re.Match[str]) -> str:
        element, field, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        if value == "None":
            return f"{element}: {field} is missing"
        return f"{element}: {field} {value!r} is not valid"

    return _SETTER_ERROR.sub(setter, message)


def _note(findings: Findings, message: str) -> None:
    message = _readable(message)
    if len(message) > _MESSAGE_CHARS:
        message = message[:_MESSAGE_CHARS] + "..."
    findings.add("spdx-tools", f"spdx-tools: {message}")


def _parse_failed(findings: Findings, messages: list[str]) -> None:
    for message in messages:
        _note(findings, str(message))


def _without_files(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` without files and snippets, nor the relationships and references to them."""
    dropped = {
        item.get("SPDXID")
        for key in ("files", "snippets")
        for item in as_list(doc.get(key))
        if isinstance(item, dict)
    }
    if not dropped:
        return doc
    reduced = {key: value for key, value in doc.items() if key not in ("files", "snippets")}
    reduced["relationships"] = [
        item
        for item in as_list(doc.get("relationships"))
        if not isinstance(item, dict)
        or (
            item.get("spdxElementId") not in dropped
            and item.get("relatedSpdxElement") not in dropped
        )
    ]
    reduced["packages"] = [
        {key: value for key, value in item.items() if key != "hasFiles"}
        if isinstance(item, dict)
        else item
        for item in as_list(doc.get("packages"))
    ]
    if "documentDescribes" in doc:
        reduced["documentDescribes"] = [
            ref for ref in as_list(doc.get("documentDescribes")) if ref not in dropped
        ]
    return reduced


def _validate(document: Any, findings: Findings) -> bool:
    """Validate a parsed document (files already left out); returns whether it is valid."""
    version = document.creation_info.spdx_version
    packages, relationships = document.packages, document.relationships
    if len(packages) * max(len(relationships), 1) <= FULL_VALIDATION_BUDGET:
        messages = validate_full_spdx_document(document)
    else:
        messages = validate_creation_info(document.creation_info, version)
        for package in packages:
            messages.extend(validate_package(package, version))
        messages.extend(validate_extracted_licensing_infos(document.extracted_licensing_info))
        known = {document.creation_info.spdx_id, *(package.spdx_id for package in packages)}
        for relationship in relationships:
            for ref in (relationship.spdx_element_id, relationship.related_spdx_element_id):
                if isinstance(ref, str) and ":" not in ref and ref not in known:
                    messages.append(
                        ValidationMessage(
                            f"a relationship refers to {ref}, which is not in the document",
                            ValidationContext(),
                        )
                    )
        _note(findings, "packages validated one by one (too large for the full check)")
    for message in messages:
        context = message.context
        subject = context.spdx_id or (
            context.element_type.name.lower() if context.element_type else ""
        )
        _note(
            findings,
            f"{subject}: {message.validation_message}" if subject else message.validation_message,
        )
    return not messages


def check_dict(doc: dict[str, Any], findings: Findings) -> bool | None:
    """Parse and validate an SPDX 2 document in dict form with spdx-tools; its complaints go to
    `findings`. Returns whether it is valid, or None when it was too large to check."""
    packages = len(as_list(doc.get("packages")))
    if packages > MAX_PACKAGES:
        _note(
            findings, f"not checked: {packages:,} packages is over the budget of {MAX_PACKAGES:,}"
        )
        return None
    reduced = _without_files(doc)
    try:
        document = JsonLikeDictParser().parse(reduced)
    except SPDXParsingError as exc:
        _parse_failed(findings, exc.get_messages())
        return False
    except _CRASHES as exc:
        _note(findings, f"could not read the document ({type(exc).__name__}: {exc})")
        return False
    return _validate(document, findings)


def _reduced_document(document: Any) -> Any:
    """The document without files and snippets, nor the relationships and annotations that
    concern them."""
    dropped = {item.spdx_id for item in [*document.files, *document.snippets]}
    if not dropped:
        return document
    return Document(
        creation_info=document.creation_info,
        packages=document.packages,
        annotations=[item for item in document.annotations if item.spdx_id not in dropped],
        relationships=[
            item
            for item in document.relationships
            if item.spdx_element_id not in dropped and item.related_spdx_element_id not in dropped
        ],
        extracted_licensing_info=document.extracted_licensing_info,
    )


def _as_dict(document: Any) -> dict[str, Any]:
    converted: dict[str, Any] = DocumentConverter().convert(document)
    return converted


def tag_value_document(text: str, findings: Findings) -> tuple[dict[str, Any] | None, bool | None]:
    """(dict form, schema_valid) of a tag-value document read by spdx-tools; (None, False) with
    its complaints in `findings` when it cannot read it, (None, None) when over the budget."""
    if len(text) > MAX_TAG_VALUE_BYTES:
        _note(findings, f"not checked: the document is over {MAX_TAG_VALUE_BYTES:,} characters")
        return None, None
    from ply import yacc

    parser = _tagvalue.Parser(write_tables=False, debug=False, errorlog=yacc.NullLogger())
    try:
        document = parser.parse(text)
    except SPDXParsingError as exc:
        _parse_failed(findings, exc.get_messages())
        return None, False
    except _CRASHES as exc:
        _note(findings, f"could not read the document ({type(exc).__name__}: {exc})")
        return None, False
    reduced = _reduced_document(document)
    return _as_dict(reduced), _validate(reduced, findings)


def rdf_document(data: bytes, findings: Findings) -> tuple[dict[str, Any], bool]:
    """(dict form, schema_valid) of an RDF/XML document (already checked by defusedxml: no
    DOCTYPE, no entities). SbomParseError if rdflib or spdx-tools cannot read it."""
    from rdflib import Graph
    from spdx_tools.spdx.parser.rdf.rdf_parser import (
        translate_graph_to_document,
    )

    graph = Graph()
    try:
        graph.parse(data=data, format="xml")
    except Exception as exc:  # rdflib raises many unrelated types for malformed RDF
        raise SbomParseError(f"not readable as RDF/XML: {exc}") from None
    try:
        document = translate_graph_to_document(graph)
    except SPDXParsingError as exc:
        messages = "; ".join(str(message) for message in exc.get_messages()[:3])
        raise SbomParseError(f"SPDX RDF/XML that spdx-tools cannot read: {messages}") from None
    except _CRASHES as exc:
        raise SbomParseError(
            f"SPDX RDF/XML that spdx-tools cannot read ({type(exc).__name__}: {exc})"
        ) from None
    reduced = _reduced_document(document)
    return _as_dict(reduced), _validate(reduced, findings)
