"""NTIA minimum elements coverage of a parsed document.

The per-component elements (supplier, name, version, unique_identifier) are the fraction of
components that state them; a purl or CPE given by the document is a unique identifier, a purl
derived here is not. The document-level elements (dependencies, author, timestamp) are 1.0 when
the document states them and 0.0 when it does not.
"""

from __future__ import annotations

from evidence.sbom.components import Tally

ELEMENTS = (
    "supplier",
    "name",
    "version",
    "unique_identifier",
    "dependencies",
    "author",
    "timestamp",
)


def ntia_coverage(
    tally: Tally, *, dependencies: bool, author: bool, timestamp: bool
) -> dict[str, float]:
    """Coverage from 0.0 to 1.0 of each NTIA minimum element, keyed as in ELEMENTS."""

    def share(count: int) -> float:
        return round(count / tally.total, 4) if tally.total else 0.0

    return {
        "supplier": share(tally.with_supplier),
        "name": share(tally.with_name),
        "version": share(tally.with_version),
        "unique_identifier": share(tally.with_identifier),
        "dependencies": 1.0 if dependencies else 0.0,
        "author": 1.0 if author else 0.0,
        "timestamp": 1.0 if timestamp else 0.0,
    }
