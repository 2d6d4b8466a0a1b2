"""The parser interface's data types: what every SBOM parser returns, whatever the format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


class SbomParseError(ValueError):
    """The document cannot be read. `location` says where (a JSON path, a line), if known."""

    def __init__(self, message: str, *, location: str = "") -> None:
        self.message = message
        self.location = location
        super().__init__(f"{message} (at {location})" if location else message)


@dataclass(frozen=True)
class Limits:
    """Bounds on hostile input. The ingest service builds these from settings."""

    max_bytes: int = 50 * 1024 * 1024
    max_decompressed_bytes: int = 500 * 1024 * 1024
    max_depth: int = 64
    max_components: int = 500_000
    max_string: int = 8192


class Component(NamedTuple):
    """One package of an SBOM, identified by its canonical purl.

    `purl` is canonical (packageurl-python's `to_string()` of the parsed purl, qualifiers
    sorted) and always set; a component without one gets a derived `pkg:generic/...` purl.
    `version` is the purl's version verbatim. For rpm and deb, `epoch` comes from the `epoch`
    qualifier (or an `E:` version prefix), `release` is the part after the last '-' of the
    version (rpm release, deb revision), `arch` and `distro` are the qualifiers of that name.

    A named tuple rather than a frozen dataclass: as immutable, and a third of the cost to
    build (`components.component_new`), which counts at hundreds of thousands per document.
    """

    purl: str
    type: str
    name: str
    version: str = ""
    namespace: str = ""
    epoch: str = ""
    release: str = ""
    arch: str = ""
    distro: str = ""
    cpe: str = ""
    hashes: tuple[tuple[str, str], ...] = ()
    licenses: tuple[str, ...] = ()
    supplier: str = ""
    bom_ref: str = ""


@dataclass
class ParsedSbom:
    """A parsed document.

    `component_count` follows the counting rule (every CycloneDX component at any depth under
    `components`, every SPDX 2 package, every SPDX 3 `software_Package`); `components` has one
    entry per counted component, in document order. `schema_valid` is None when the format has
    no validator here, False when validation found problems (listed in `warnings`).
    `ntia` maps each NTIA minimum element (supplier, name, version, unique_identifier,
    dependencies, author, timestamp) to its coverage from 0.0 to 1.0.
    """

    format: str  # "cyclonedx" | "spdx"
    spec_version: str  # "1.6", "2.3", "3.0"
    encoding: str  # "json" | "xml" | "tag-value" | "yaml" | "rdf" | "json-ld"
    components: list[Component]
    component_count: int
    created_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)
    schema_valid: bool | None = None
    ntia: dict[str, float] = field(default_factory=dict)
    subject: str = ""  # what the SBOM describes: metadata.component / document name

    @property
    def ntia_completeness(self) -> float:
        """The mean coverage of the seven NTIA minimum elements (0.0 to 1.0)."""
        return sum(self.ntia.values()) / len(self.ntia) if self.ntia else 0.0


@dataclass(frozen=True)
class Detected:
    """What `sbom_sniff` found from the first bytes, without parsing the whole document."""

    format: str  # "cyclonedx" | "spdx"
    encoding: str
    compressed: bool = False
