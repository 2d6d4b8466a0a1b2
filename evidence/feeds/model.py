"""The feed parser interface: what every advisory feed parser returns, whatever the source.

A parser is a pure function `parse(data: bytes, *, limits: FeedLimits) -> FeedParse`: no
database, no network. A document it cannot use at all raises FeedError (the sync run ends
`failed` and nothing stored changes); one bad record among many is a RecordError in
`FeedParse.errors` (the run is `partial`, the other records are stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


class FeedError(ValueError):
    """The document cannot be used. `location` says where (a line, a JSON path), if known."""

    def __init__(self, message: str, *, location: str = "") -> None:
        self.message = message
        self.location = location
        super().__init__(f"{message} (at {location})" if location else message)


@dataclass(frozen=True)
class FeedLimits:
    """Bounds on hostile feed input. The sync step builds these from settings."""

    max_bytes: int = 512 * 1024 * 1024
    max_decompressed_bytes: int = 2 * 1024 * 1024 * 1024
    max_depth: int = 64
    max_records: int = 2_000_000
    max_string: int = 1024 * 1024


@dataclass(frozen=True)
class RecordError:
    """One record that could not be read: where it is and what is wrong with it."""

    location: (
        str  # e.g. "update[17] (FEDORA-2024-1a2b3c)", "ALSA-2024:2433.json", "$.vulnerabilities[3]"
    )
    message: str


# Advisory.kind values
KINDS = ("security", "bugfix", "enhancement", "newpackage", "vex", "unspecified")
# Affected.status values. "affected": the versions in `vers` are affected (a fix exists when
# `fixed_version` is set); sources that name fixed packages (updateinfo, Bodhi, CSAF "fixed",
# OVAL "less than") write "affected" with vers "<fixed" and fixed_version. "fixed": the source
# says the product is fixed but names no version. "not_affected" / "under_investigation": VEX.
STATUSES = ("affected", "fixed", "not_affected", "under_investigation")
# Advisory.severity values after normalisation ("" when the source gives none)
SEVERITIES = ("critical", "high", "medium", "low", "none")


@dataclass
class Affected:
    """One package (per distribution release) an advisory is about.

    `package_type` is the purl type (rpm, deb, pypi, npm, maven, golang, nuget, cargo, gem,
    composer, oci, generic ...). `distro` follows the purl `distro` qualifier written by the
    agent, `<os-release ID>-<VERSION_ID>`: `fedora-40`, `azurelinux-3.0`, `mariner-2.0`,
    `rhel-9`, `almalinux-9`, `rocky-9`; "" for language ecosystems. `product` keeps the source's
    own product or ecosystem id (CSAF product id, OSV ecosystem, OVAL platform) so a mapping can
    be explained or redone. `vers` is the affected range as a vers string
    (https://github.com/package-url/purl-spec VERSION-RANGE-SPEC), e.g. `vers:rpm/<1:3.0.7-18.el9_2`
    or `vers:pypi/>=1.0|<1.2.3`; "" when the source states none (every version, or unknown).
    `fixed_version` is the first fixed version (for rpm an EVR, epoch written only when the
    source gives it), "" when there is no fix. `fix_available_at` is when the fix was published
    for this distribution (advisory issue date, Bodhi stable push, CSAF remediation date).
    """

    package_type: str
    name: str
    distro: str = ""
    vers: str = ""
    fixed_version: str = ""
    fix_available_at: datetime | None = None
    status: str = "affected"
    product: str = ""
    arch: str = ""
    module: str = ""  # rpm module stream, e.g. "ruby:3.3"
    namespace: str = ""  # purl namespace (maven group, npm scope, rpm vendor)
    justification: str = ""  # VEX not_affected justification / remediation category


@dataclass
class Advisory:
    """One advisory as its source states it (naturally keyed by (source, external_id))."""

    source: str
    external_id: str
    title: str = ""
    description: str = ""
    kind: str = "security"
    severity: str = ""
    cvss_vector: str = ""
    cvss_score: float | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    withdrawn_at: datetime | None = None
    aliases: tuple[str, ...] = ()  # CVE ids and other ids naming the same issue, sorted
    references: tuple[str, ...] = ()  # URLs
    # source-specific dates, e.g. Bodhi {"submitted": ..., "testing": ..., "stable": ...}
    milestones: dict[str, datetime] = field(default_factory=dict)
    affected: list[Affected] = field(default_factory=list)


@dataclass
class KevEntry:
    """One entry of CISA's Known Exploited Vulnerabilities catalog."""

    cve_id: str
    vendor: str
    product: str
    name: str
    date_added: date
    due_date: date | None = None
    ransomware: str = ""  # "Known" / "Unknown" as CISA states it
    required_action: str = ""
    notes: str = ""
    description: str = ""


@dataclass
class RetiredPackage:
    """A package an upstream distribution stopped maintaining (retired, end of life)."""

    distro: str  # e.g. "fedora" (every release from `retired_at` on) or "fedora-41"
    name: str
    retired_at: date
    reason: str
    reference_url: str
    package_type: str = "rpm"
    kind: str = "retired"  # "retired" (a package) or "end-of-life" (a whole release)


@dataclass
class FeedParse:
    """What a parser read from one document (or archive, or directory)."""

    advisories: list[Advisory] = field(default_factory=list)
    kev: list[KevEntry] = field(default_factory=list)
    retired: list[RetiredPackage] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    records_seen: int = 0  # records read, good and bad
    note: str = ""  # e.g. the KEV catalogVersion, the updateinfo repository
