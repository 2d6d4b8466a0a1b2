"""VEX statements as matching uses them: which statement closes an exposure as not affected.

Two kinds count: an upstream's VEX rows stored by the feeds (CSAF `known_not_affected` for a
distribution: status `not_affected` affected-package rows), and the VEX documents an
organisation uploaded (`not_affected` or `fixed` for a package, optionally one version, one
fleet). Both are matched by CVE (an advisory's aliases or its own CVE id).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from evidence.models import AdvisoryAlias, AffectedPackage, Host, VexStatement

NameKey = tuple[str, str, str]  # (purl type, the package's own distro qualifier, name)


@dataclass
class VexIndex:
    """`not_affected` statements that close exposures: an upstream's VEX rows stored by the
    feeds (CSAF known_not_affected, per distribution), and the VEX documents an organisation
    uploaded (`not_affected` or `fixed` for a package, optionally one version, one fleet)."""

    feed: dict[tuple[str, str, str], list[tuple[frozenset[str], str, str]]]
    uploaded: dict[tuple[int, str, str], list[tuple[frozenset[str], str, int | None, str]]]

    @classmethod
    def load(cls, *, names: set[str], organizations: set[int]) -> VexIndex:
        feed: dict[tuple[str, str, str], list[tuple[frozenset[str], str, str]]] = defaultdict(list)
        uploaded: dict[tuple[int, str, str], list[tuple[frozenset[str], str, int | None, str]]] = (
            defaultdict(list)
        )
        if not names:
            return cls(feed, uploaded)
        ordered = sorted(names)
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ordered), 5000):
            rows += AffectedPackage.objects.filter(
                status="not_affected", name__in=ordered[start : start + 5000]
            ).values_list(
                "package_type",
                "distro",
                "name",
                "advisory_id",
                "advisory__source",
                "advisory__external_id",
                "justification",
            )
        ids = {row[3] for row in rows}
        cves: dict[int, set[str]] = defaultdict(set)
        for advisory_id, alias in AdvisoryAlias.objects.filter(
            advisory_id__in=ids, alias__startswith="CVE-"
        ).values_list("advisory_id", "alias"):
            cves[advisory_id].add(alias)
        for ptype, distro, name, advisory_id, source, external_id, why in rows:
            ids_named = cves[advisory_id] | (
                {external_id.upper()} if external_id.upper().startswith("CVE-") else set()
            )
            label = f"{source} {external_id}: not affected" + (f" ({why})" if why else "")
            feed[(ptype, distro, name)].append((frozenset(ids_named), "", label))
        statements = VexStatement.objects.filter(
            organization_id__in=organizations,
            package_name__in=names,
            status__in=("not_affected", "fixed"),
        ).select_related("upload")
        for statement in statements:
            named = frozenset({statement.vulnerability.upper(), *map(str.upper, statement.aliases)})
            label = (
                f"VEX {statement.upload.filename or statement.upload.document_id} "
                f"(uploaded {statement.upload.uploaded_at:%Y-%m-%d}): {statement.status}"
                + (f" ({statement.justification})" if statement.justification else "")
            )
            key = (statement.organization_id, statement.package_type, statement.package_name)
            uploaded[key].append((named, statement.package_version, statement.fleet_id, label))
        return cls(feed, uploaded)

    def note(
        self,
        *,
        host: Host,
        key: NameKey,
        distros: tuple[str, ...],
        package: tuple[str, str, str, str, str],
        cves: tuple[str, ...],
    ) -> str:
        """The statement closing this exposure as not affected, or ""."""
        if not cves:
            return ""
        wanted = set(cves)
        for distro in distros:
            for named, _version, label in self.feed.get((key[0], distro, key[2]), ()):
                if named & wanted:
                    return label
        version = package[4]
        for named, stated_version, fleet_id, label in self.uploaded.get(
            (host.fleet.organization_id, key[0], key[2]), ()
        ):
            if fleet_id is not None and fleet_id != host.fleet_id:
                continue
            if stated_version and stated_version != version:
                continue
            if named & wanted:
                return label
        return ""
