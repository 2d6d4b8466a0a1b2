"""SPDX 2 tag-value documents: spdx-tools' reader first, a lenient reader of its own when
spdx-tools refuses the document (Trivy's, for one, leaves out PackageDownloadLocation).

The lenient reader keeps what the ingest needs: the document's version, name and creation
info, and for each package its name, SPDXID, version, supplier, checksums, external refs and
licences, plus the relationships. It builds the same dict form as SPDX JSON, so both paths
give the same components (tests/sbom/test_spdx.py checks it on the fixtures).
"""

from __future__ import annotations

from typing import Any

from evidence.sbom import spdx_tools_bridge
from evidence.sbom.findings import Findings
from evidence.sbom.model import Limits, ParsedSbom, SbomParseError
from evidence.sbom.spdx2 import spdx2_read

# Tags that start an element other than a package: what follows them is not package data.
_OTHER_ELEMENTS = frozenset({"FileName", "SnippetSPDXID", "LicenseID"})
_PACKAGE_TEXT = {
    "SPDXID": "SPDXID",
    "PackageVersion": "versionInfo",
    "PackageSupplier": "supplier",
    "PackageLicenseConcluded": "licenseConcluded",
    "PackageLicenseDeclared": "licenseDeclared",
}


def _logical_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, tag, value) of each tag, with multi-line <text>...</text> values joined."""
    out: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        tag, colon, value = stripped.partition(":")
        tag = tag.strip()
        if not colon or not tag or not tag.isidentifier():
            raise SbomParseError(
                f"not SPDX tag-value: expected 'Tag: value', found {stripped[:60]!r}",
                location=f"line {number}",
            )
        value = value.strip()
        if value.startswith("<text>"):
            body = [value[len("<text>") :]]
            while "</text>" not in body[-1]:
                if index >= len(lines):
                    raise SbomParseError(
                        f"the <text> value of {tag} is never closed by </text>",
                        location=f"line {number}",
                    )
                body.append(lines[index])
                index += 1
            value = "\n".join(body).split("</text>", 1)[0]
        out.append((number, tag, value))
    return out


def tag_value_dict(text: str) -> dict[str, Any]:
    """The dict form (as SPDX JSON) of a tag-value document, read leniently."""
    creation: dict[str, Any] = {"creators": []}
    doc: dict[str, Any] = {"creationInfo": creation, "packages": [], "relationships": []}
    package: dict[str, Any] | None = None
    in_document = True
    for number, tag, value in _logical_lines(text):
        if tag == "PackageName":
            package = {"name": value, "_line": number}
            doc["packages"].append(package)
            in_document = False
        elif tag in _OTHER_ELEMENTS:
            package = None
            in_document = False
        elif tag == "SPDXVersion":
            doc["spdxVersion"] = value
        elif tag == "DocumentName":
            doc["name"] = value
        elif tag == "Creator":
            creation["creators"].append(value)
        elif tag == "Created":
            creation["created"] = value
        elif tag == "Relationship":
            parts = value.split()
            if len(parts) >= 3:
                doc["relationships"].append(
                    {"spdxElementId": parts[0], "relationshipType": parts[1],
                     "relatedSpdxElement": parts[2]}
                )  # fmt: skip
        elif tag == "SPDXID" and in_document:
            doc.setdefault("SPDXID", value)
        elif package is not None and tag in _PACKAGE_TEXT:
            package.setdefault(_PACKAGE_TEXT[tag], value)
        elif package is not None and tag == "PackageChecksum":
            algorithm, _, checksum = value.partition(":")
            package.setdefault("checksums", []).append(
                {"algorithm": algorithm.strip(), "checksumValue": checksum.strip()}
            )
        elif package is not None and tag == "ExternalRef":
            parts = value.split(None, 2)
            if len(parts) == 3:
                package.setdefault("externalRefs", []).append(
                    {"referenceCategory": parts[0], "referenceType": parts[1],
                     "referenceLocator": parts[2]}
                )  # fmt: skip
    return doc


def spdx2_tag_value(text: str, *, limits: Limits) -> ParsedSbom:
    """Read an SPDX 2 tag-value document."""
    findings = Findings()
    lenient = tag_value_dict(text)  # also what refuses text that is not tag-value at all
    lines = {
        package["SPDXID"]: package["_line"]
        for package in lenient["packages"]
        if isinstance(package.get("SPDXID"), str)
    }

    def by_line(index: int, entry: dict[str, Any]) -> str:
        ref = entry.get("SPDXID")
        line = entry.get("_line") or (lines.get(ref) if isinstance(ref, str) else None)
        return f"line {line}" if line else f"package {index + 1}"

    doc, schema_valid = spdx_tools_bridge.tag_value_document(text, findings)
    return spdx2_read(
        lenient if doc is None else doc,
        limits=limits,
        encoding="tag-value",
        findings=findings,
        schema_valid=schema_valid,
        locate=by_line,
    )
