"""Matching: exposures from the host package ledger and the stored advisories.

For one host, one advisory and one package name (type, distribution, name), the host was
exposed while a version inside one of the advisory's affected ranges was installed. The
vulnerable intervals of the ledger are merged into windows; a window that ended before the
advisory was published is no exposure (the fix was in before anyone knew). A window ends when
a fixed version replaced the vulnerable one (`upgraded`) or the package went (`removed`). A
window after one that was closed by an upgrade is a `regression` (a downgrade back into range).

Everything here is computed for a scope (some hosts, optionally some package names, optionally
some advisories) and reconciled with the stored exposures of exactly that scope, so the
incremental paths (a new snapshot: its changed names; a new advisory: its names) and a full
recompute give the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from evidence.distros import distro_keys
from evidence.exceptions import exceptions_follow
from evidence.matching_vex import VexIndex
from evidence.models import (
    Advisory,
    AdvisoryAlias,
    AffectedPackage,
    Fleet,
    Host,
    KevEntry,
    Package,
    PackageInterval,
    SbomDocument,
    SbomStatus,
)
from evidence.models.exposure import CloseReason, Exposure
from evidence.models.exposure_history import versions_close, versions_open
from evidence.package_versions import (
    in_range,
    module_build,
    module_match,
    module_stream,
    package_evr,
    source_name,
)
from evidence.sla.profiles import (
    Assessment,
    Facts,
    Profile,
    assess,
    assess_retired,
    profile_digest,
    profile_load,
)

NameKey = tuple[str, str, str]  # (purl type, the package's own distro qualifier, name)
_DISTRO_TYPES = {"rpm", "deb", "apk"}
_MATCHING_STATUSES = ("affected",)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
# Table names (model constants, not input) for the raw SQL of the PostgreSQL fast paths.
_INTERVALS = PackageInterval._meta.db_table
_PACKAGES = Package._meta.db_table
_HOSTS = Host._meta.db_table


@dataclass(frozen=True)
class _Row:
    """An affected-package row, as matching needs it."""

    pk: int
    advisory_id: int
    vers: str
    fixed_version: str
    fix_available_at: datetime | None
    module: str = ""  # the rpm module stream ("ruby:2.5") the row is about, "" for none


@dataclass
class _Interval:
    package_id: int
    start: datetime
    end: datetime | None


@dataclass
class ReconcileCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    unmapped: set[str] = field(default_factory=set)  # package distributions left unmatched
    unmapped_modules: set[str] = field(default_factory=set)  # module builds left unmatched

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
        }


@dataclass
class _Scope:
    hosts: list[Host]
    keys: set[NameKey] | None = None  # None: every package name
    advisory_ids: set[int] | None = None  # None: every advisory
    unmapped: set[str] = field(default_factory=set)
    unmapped_modules: set[str] = field(default_factory=set)


# -- SLA profiles -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _profile(slug: str) -> tuple[Profile, str]:
    """An SLA profile and its digest (the data ships with the code: cached per process)."""
    profile = profile_load(slug)
    return profile, profile_digest(profile)


# -- reading the ledger and the advisories -----------------------------------------------------


def _advisory_keys(package_type: str, distro: str, fleet_distribution: str) -> tuple[str, ...]:
    """Advisory distribution keys for a package: its own distro qualifier, or for a
    distribution package without a usable one, the fleet's declared distribution."""
    if package_type not in _DISTRO_TYPES:
        return ("",)
    keys = distro_keys(distro)
    if keys and keys != ("",):
        return keys
    fleet_keys = distro_keys(fleet_distribution)
    if fleet_keys and fleet_keys != ("",):
        family = fleet_keys[0].rsplit("-", 1)[0]
        if not distro or distro.split("-")[0] in (family, fleet_distribution.split("-")[0]):
            return fleet_keys
    return ()


def _scoped_intervals(scope: _Scope) -> QuerySet[PackageInterval]:
    """The scope's ledger intervals: its hosts, its names (or every name some advisory is
    about, as a subquery: no parameter list to bind)."""
    query = PackageInterval.objects.filter(host__in=[h.pk for h in scope.hosts])
    if scope.keys is not None:
        return query.filter(package__name__in={name for _t, _d, name in scope.keys})
    affected = AffectedPackage.objects.filter(status__in=_MATCHING_STATUSES)
    if scope.advisory_ids is not None:
        affected = affected.filter(advisory_id__in=scope.advisory_ids)
    # Names some advisory is about, and rpm binaries that may match through their source rpm.
    return query.filter(
        Q(package__name__in=affected.values("name"))
        | Q(package__type="rpm", package__purl__contains="upstream=")
    )


def _installed(scope: _Scope) -> dict[int, set[str]]:
    """{package id: the distributions of the fleets whose hosts had it}: one row per
    distinct package and fleet, however many hosts share it."""
    found: dict[int, set[str]] = defaultdict(set)
    if connection.vendor == "postgresql":
        # Integer-only DISTINCT with the hosts as one array: seconds faster on a large fleet
        # than the ORM's IN list (which the planner turns into a thousand index probes).
        fleet_distribution = {h.fleet_id: h.fleet.distribution for h in scope.hosts}
        sql = (
            f"SELECT DISTINCT i.package_id, h.fleet_id FROM {_INTERVALS} i "  # noqa: S608
            f"JOIN {_HOSTS} h ON h.id = i.host_id WHERE i.host_id = ANY(%s)"
        )
        params: list[Any] = [[h.pk for h in scope.hosts]]
        if scope.keys is not None:
            sql += f" AND i.package_id IN (SELECT id FROM {_PACKAGES} WHERE name = ANY(%s))"  # noqa: S608
            params.append(sorted({name for _t, _d, name in scope.keys}))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for package_id, fleet_id in cursor.fetchall():
                found[package_id].add(fleet_distribution[fleet_id])
        return found
    rows = (
        _scoped_intervals(scope).values_list("package_id", "host__fleet__distribution").distinct()
    )
    for package_id, distribution in rows.iterator(chunk_size=20_000):
        found[package_id].add(distribution)
    return found


def _intervals(scope: _Scope, vulnerable: set[int]) -> dict[tuple[int, NameKey], list[_Interval]]:
    """Ledger intervals grouped by (host, package name), for the (host, name) pairs that had a
    vulnerable version at some time: the other versions of the name say how a window closed."""
    if connection.vendor == "postgresql":
        return _intervals_pg(scope, vulnerable)
    grouped: dict[tuple[int, NameKey], list[_Interval]] = defaultdict(list)
    ordered = sorted(vulnerable)
    for start in range(0, len(ordered), 5000):  # bounded parameter lists
        had_vulnerable = PackageInterval.objects.filter(
            host_id=OuterRef("host_id"),
            package_id__in=ordered[start : start + 5000],
            package__type=OuterRef("package__type"),
            package__distro=OuterRef("package__distro"),
            package__name=OuterRef("package__name"),
        )
        rows = (
            _scoped_intervals(scope)
            .filter(Exists(had_vulnerable))
            .values_list(
                "host_id",
                "package_id",
                "present_from",
                "present_until",
                "package__type",
                "package__distro",
                "package__name",
            )
        )
        for host_id, package_id, begin, end, ptype, distro, name in rows.iterator(
            chunk_size=20_000
        ):
            key = (ptype, distro, name)
            if scope.keys is not None and key not in scope.keys:
                continue
            intervals = grouped[(host_id, key)]
            if not any(i.package_id == package_id and i.start == begin for i in intervals):
                intervals.append(_Interval(package_id, begin, end))
    for intervals in grouped.values():
        intervals.sort(key=lambda i: (i.start, i.end or _FAR_FUTURE))
    return grouped


def _intervals_pg(
    scope: _Scope, vulnerable: set[int]
) -> dict[tuple[int, NameKey], list[_Interval]]:
    """`_intervals` on PostgreSQL: find the (host, name) pairs that had a vulnerable version,
    then read exactly those pairs' intervals by joining on arrays of (host, package) ids."""
    host_ids = [h.pk for h in scope.hosts]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT i.host_id, p.type, p.distro, p.name FROM {_INTERVALS} i "  # noqa: S608
            f"JOIN {_PACKAGES} p ON p.id = i.package_id "
            "WHERE i.host_id = ANY(%s) AND i.package_id = ANY(%s)",
            [host_ids, sorted(vulnerable)],
        )
        pairs = [(host_id, (t, d, n)) for host_id, t, d, n in cursor.fetchall()]
        if scope.keys is not None:
            pairs = [(h, key) for h, key in pairs if key in scope.keys]
        names = sorted({key[2] for _h, key in pairs})
        cursor.execute(
            f"SELECT id, type, distro, name FROM {_PACKAGES} WHERE name = ANY(%s)",  # noqa: S608
            [names],
        )
        versions: dict[NameKey, list[int]] = defaultdict(list)
        for pk, t, d, n in cursor.fetchall():
            versions[(t, d, n)].append(pk)
        hosts_col: list[int] = []
        packages_col: list[int] = []
        owner: dict[int, NameKey] = {}
        for host_id, key in pairs:
            for package_id in versions[key]:
                hosts_col.append(host_id)
                packages_col.append(package_id)
                owner[package_id] = key
        cursor.execute(
            f"SELECT i.host_id, i.package_id, i.present_from, i.present_until "  # noqa: S608
            f"FROM {_INTERVALS} i JOIN unnest(%s::bigint[], %s::bigint[]) AS g(host_id, pkg) "
            "ON i.host_id = g.host_id AND i.package_id = g.pkg",
            [hosts_col, packages_col],
        )
        grouped: dict[tuple[int, NameKey], list[_Interval]] = defaultdict(list)
        for host_id, package_id, begin, end in cursor.fetchall():
            grouped[(host_id, owner[package_id])].append(_Interval(package_id, begin, end))
    for intervals in grouped.values():
        intervals.sort(key=lambda i: (i.start, i.end or _FAR_FUTURE))
    return grouped


def _affected_rows(
    lookups: set[tuple[str, str, str]], advisory_ids: set[int] | None
) -> dict[tuple[str, str, str], list[_Row]]:
    """Affected rows by (type, advisory distro key, name), for the names looked up."""
    names = sorted({name for _t, _d, name in lookups})
    found: dict[tuple[str, str, str], list[_Row]] = defaultdict(list)
    fields = ("pk", "advisory_id", "vers", "fixed_version", "fix_available_at", "module")
    for start in range(0, len(names), 5000):  # bounded parameter lists
        query = AffectedPackage.objects.filter(
            status__in=_MATCHING_STATUSES,
            name__in=names[start : start + 5000],
            advisory__withdrawn_at__isnull=True,
        )
        if advisory_ids is not None:
            query = query.filter(advisory_id__in=advisory_ids)
        for ptype, distro, name, *values in query.values_list(
            "package_type", "distro", "name", *fields
        ).iterator(chunk_size=20_000):
            key = (ptype, distro, name)
            if key in lookups:
                found[key].append(_Row(*values))
    return found


def _snapshots(hosts: Sequence[Host]) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = defaultdict(list)
    rows = SbomDocument.objects.filter(
        host__in=[h.pk for h in hosts], status=SbomStatus.INGESTED, snapshot_at__isnull=False
    ).values_list("host_id", "snapshot_at")
    for host_id, when in rows:
        if when is not None:
            times[host_id].append(when)
    for values in times.values():
        values.sort()
    return times


# -- windows ----------------------------------------------------------------------------------


@dataclass
class _Window:
    start: datetime
    end: datetime | None
    package_id: int  # the vulnerable version at the start
    row: _Row


def _windows(intervals: list[_Interval], vulnerable: dict[int, _Row]) -> list[_Window]:
    """Merge the vulnerable intervals (by package id) into maximal windows."""
    windows: list[_Window] = []
    for interval in intervals:
        row = vulnerable.get(interval.package_id)
        if row is None:
            continue
        if windows:
            last = windows[-1]
            if last.end is None or interval.start <= last.end:
                if last.end is not None and (interval.end is None or interval.end > last.end):
                    last.end = interval.end
                continue
        windows.append(_Window(interval.start, interval.end, interval.package_id, row))
    return windows


def _successor(intervals: list[_Interval], vulnerable: dict[int, _Row], at: datetime) -> int | None:
    """The non-vulnerable version of the same name present at `at`, if any."""
    for interval in intervals:
        if interval.package_id in vulnerable:
            continue
        if interval.start <= at and (interval.end is None or interval.end > at):
            return interval.package_id
    return None


def _first_snapshot(
    times: list[datetime], start: datetime, end: datetime | None
) -> datetime | None:
    for when in times:
        if when >= start and (end is None or when < end):
            return when
    return None


@dataclass
class _Advisory:
    source: str
    published_at: datetime | None
    cvss_score: float | None
    severity: str
    cves: tuple[str, ...]
    kev_added_at: datetime | None = None
    kev_due_at: datetime | None = None


def _advisories(ids: Iterable[int]) -> dict[int, _Advisory]:
    ids = set(ids)
    found: dict[int, _Advisory] = {}
    rows = Advisory.objects.filter(pk__in=ids).values_list(
        "pk", "source", "external_id", "published_at", "cvss_score", "severity"
    )
    own_cve: dict[int, str] = {}
    for pk, source, external_id, published, score, severity in rows:
        cvss = float(score) if score is not None else None
        found[pk] = _Advisory(source, published, cvss, severity, ())
        if external_id.upper().startswith("CVE-"):
            own_cve[pk] = external_id.upper()
    cves: dict[int, list[str]] = defaultdict(list)
    for pk, cve in own_cve.items():
        cves[pk].append(cve)
    for advisory_id, alias in AdvisoryAlias.objects.filter(
        advisory_id__in=ids, alias__startswith="CVE-"
    ).values_list("advisory_id", "alias"):
        cves[advisory_id].append(alias)
    kev = {
        cve: (added, due)
        for cve, added, due in KevEntry.objects.filter(
            cve_id__in={c for values in cves.values() for c in values}
        ).values_list("cve_id", "date_added", "due_date")
    }
    for pk, data in found.items():
        data.cves = tuple(sorted(set(cves.get(pk, ()))))
        listed = [kev[c] for c in data.cves if c in kev]
        if listed:
            added = min(a for a, _d in listed)
            dues = [d for _a, d in listed if d is not None]
            data.kev_added_at = datetime.combine(added, time(), tzinfo=UTC)
            if dues:
                data.kev_due_at = datetime.combine(min(dues), time.max, tzinfo=UTC)
    return found


# -- computing and reconciling ----------------------------------------------------------------


def _desired(scope: _Scope) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The exposures the scope should hold, by natural key, as Exposure field values."""
    hosts = {h.pk: h for h in scope.hosts}
    installed = _installed(scope)
    packages: dict[int, tuple[str, str, str, str, str]] = {}
    sources: dict[int, str] = {}  # rpm binary package id -> the source package it was built from
    streams: dict[int, str] = {}  # module-build rpm id -> its module stream ("" when unknown)
    ids = sorted(installed)
    for start in range(0, len(ids), 5000):
        for pk, purl, *fields in Package.objects.filter(
            pk__in=ids[start : start + 5000]
        ).values_list("pk", "purl", "type", "distro", "name", "epoch", "version"):
            packages[pk] = tuple(fields)  # type: ignore[assignment]
            source = source_name(purl) if fields[0] == "rpm" else ""
            if source and source != fields[2]:
                sources[pk] = source
            if fields[0] == "rpm" and module_build(fields[4]):
                streams[pk] = module_stream(purl)
    distro_keys_of: dict[tuple[int, str], tuple[str, ...]] = {}
    wanted: set[tuple[str, str, str]] = set()
    for package_id, distributions in installed.items():
        ptype, distro, name, _epoch, _version = packages[package_id]
        for distribution in distributions:
            keys = _advisory_keys(ptype, distro, distribution)
            if not keys:
                scope.unmapped.add(distro or f"{ptype} without distro")
            distro_keys_of[(package_id, distribution)] = keys
            wanted.update((ptype, key, name) for key in keys)
            if package_id in sources:
                wanted.update((ptype, key, sources[package_id]) for key in keys)
    rows = _affected_rows(wanted, scope.advisory_ids)
    # Which advisories (and which of their rows) contain a package version: once per package
    # and distribution keys, not once per host, since hosts share their packages.
    memo: dict[tuple[int, tuple[str, ...]], dict[int, _Row]] = {}

    def matches(package_id: int, distros: tuple[str, ...]) -> dict[int, _Row]:
        found = memo.get((package_id, distros))
        if found is None:
            found = {}
            ptype, _distro, name, epoch, version = packages[package_id]
            evr = package_evr((ptype, epoch, version))
            # The package's own name first; then, for an advisory that names only the source
            # rpm it was built from (Red Hat's source-only rows), the source's name.
            names = (name, sources[package_id]) if package_id in sources else (name,)
            if evr is not None:  # a version no comparison can read matches nothing
                for candidate in names:
                    for distro in distros:  # most specific distribution first
                        for row in rows.get((ptype, distro, candidate), ()):
                            if (
                                row.advisory_id not in found
                                and _same_module(row, package_id, streams, scope)
                                and in_range(row.vers, evr)
                            ):
                                found[row.advisory_id] = row
            memo[(package_id, distros)] = found
        return found

    vulnerable_ids = {
        package_id
        for (package_id, distribution), keys in distro_keys_of.items()
        if matches(package_id, keys)
    }
    grouped = _intervals(scope, vulnerable_ids)
    advisories = _advisories({r.advisory_id for values in rows.values() for r in values})
    snapshots = _snapshots([hosts[host_id] for host_id in {h for h, _k in grouped}])
    vex = VexIndex.load(
        names={key[2] for _h, key in grouped},
        organizations={h.fleet.organization_id for h in scope.hosts},
    )
    desired: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (host_id, key), intervals in grouped.items():
        distribution = hosts[host_id].fleet.distribution
        by_advisory: dict[int, dict[int, _Row]] = defaultdict(dict)
        for interval in intervals:
            distros = distro_keys_of.get((interval.package_id, distribution), ())
            for advisory_id, row in matches(interval.package_id, distros).items():
                by_advisory[advisory_id][interval.package_id] = row
        if not by_advisory:
            continue
        host = hosts[host_id]
        for advisory_id, vulnerable in by_advisory.items():
            if not vulnerable:
                continue
            advisory = advisories[advisory_id]
            upgraded_before = False
            for window in _windows(intervals, vulnerable):
                published = advisory.published_at
                if published is not None and window.end is not None and window.end <= published:
                    upgraded_before = upgraded_before or bool(
                        _successor(intervals, vulnerable, window.end)
                    )
                    continue
                values = _exposure_values(
                    host,
                    key,
                    window,
                    advisory,
                    intervals,
                    vulnerable,
                    snapshots.get(host_id, []),
                    regression=upgraded_before,
                )
                if values["closed_reason"] == CloseReason.UPGRADED:
                    upgraded_before = True
                note = vex.note(
                    host=host,
                    key=key,
                    distros=distro_keys_of.get((window.package_id, distribution), ()),
                    package=packages[window.package_id],
                    cves=advisory.cves,
                )
                if note:
                    values["closed_reason"] = CloseReason.NOT_AFFECTED
                values["vex_note"] = note
                natural = (host_id, advisory_id, *key, window.start)
                values["advisory_id"] = advisory_id
                desired[natural] = values
    return desired


def _same_module(row: _Row, package_id: int, streams: dict[int, str], scope: _Scope) -> bool:
    """`module_match` for a row and a package; an undecidable pair is reported."""
    stream = streams.get(package_id)
    verdict = module_match(
        row_module=row.module, row_vers=row.vers, row_fixed=row.fixed_version, stream=stream
    )
    if verdict is None:
        row_side = row.module or f"a module fix without its stream ({row.fixed_version})"
        package_side = stream or "a module build without an rpmmod qualifier"
        scope.unmapped_modules.add(f"{row_side} vs {package_side}")
    return bool(verdict)


def _exposure_values(
    host: Host,
    key: NameKey,
    window: _Window,
    advisory: _Advisory,
    intervals: list[_Interval],
    vulnerable: dict[int, _Row],
    snapshots: list[datetime],
    *,
    regression: bool,
) -> dict[str, Any]:
    """Exposure field values for one window. A regression's clock starts when the downgrade
    was first seen (the window's start), not when the host was."""
    published = advisory.published_at
    visible_from = max(window.start, published) if published else window.start
    fixed_by = _successor(intervals, vulnerable, window.end) if window.end else None
    closed = ""
    if window.end is not None:
        closed = CloseReason.UPGRADED if fixed_by else CloseReason.REMOVED
    fix_available = window.row.fix_available_at
    if fix_available is None and window.row.fixed_version:
        fix_available = published
    fleet = host.fleet
    profile, digest = _profile(fleet.sla_profile)
    first_seen = window.start if regression else host.first_seen_at
    detected = _first_snapshot(snapshots, visible_from, window.end)
    if advisory.source == "retired" and published is not None:
        # A retired package: its own rule (remove or migrate), from the retirement date.
        verdict = assess_retired(profile, published.date(), first_seen)
    else:
        verdict = _assess(profile, advisory, fleet, fix_available, first_seen, detected)
    return {
        "organization_id": fleet.organization_id,
        "fleet_id": fleet.pk,
        "host_id": host.pk,
        "affected_id": window.row.pk,
        "package_type": key[0],
        "package_distro": key[1],
        "package_name": key[2],
        "package_id": window.package_id,
        "fixed_by_id": fixed_by,
        "window_start": window.start,
        "published_at": published,
        "fix_available_at": fix_available,
        "kev_added_at": advisory.kev_added_at,
        "kev_due_at": advisory.kev_due_at,
        "detected_at": detected,
        "fixed_at": window.end,
        "closed_reason": closed,
        "regression": regression,
        "tier": verdict.tier_id,
        "due_at": verdict.due_at,
        "sla_profile": profile.slug,
        "sla_digest": digest,
        "sla_rationale": verdict.rationale,
    }


def _assess(
    profile: Profile,
    advisory: _Advisory,
    fleet: Fleet,
    fix_available: datetime | None,
    first_seen: datetime | None,
    detected: datetime | None,
) -> Assessment:
    """The fleet profile's tier and due date for an advisory's exposure."""
    return assess(
        profile,
        Facts(
            kev=advisory.kev_added_at is not None,
            kev_added_at=advisory.kev_added_at,
            kev_due_date=advisory.kev_due_at.date() if advisory.kev_due_at else None,
            internet_exposed=fleet.internet_exposed,
            cvss_score=advisory.cvss_score,
            severity=advisory.severity,
            automatable=None,
            impact=None,
            published_at=advisory.published_at,
            fix_available_at=fix_available,
            detected_at=detected,
            host_first_seen_at=first_seen,
        ),
    )


_COMPARED = (
    "organization_id", "fleet_id", "affected_id", "package_id", "fixed_by_id", "published_at",
    "fix_available_at", "kev_added_at", "kev_due_at", "detected_at", "fixed_at", "closed_reason",
    "regression", "tier", "due_at", "sla_profile", "sla_digest", "sla_rationale", "vex_note",
)  # fmt: skip


def _reconcile(scope: _Scope) -> ReconcileCounts:
    desired = _desired(scope)
    stored_query = Exposure.objects.filter(host__in=[h.pk for h in scope.hosts])
    if scope.advisory_ids is not None:
        stored_query = stored_query.filter(advisory_id__in=scope.advisory_ids)
    if scope.keys is not None:
        stored_query = stored_query.filter(package_name__in={k[2] for k in scope.keys})
    counts = ReconcileCounts()
    now = timezone.now()
    changed: list[Exposure] = []
    seen: set[tuple[Any, ...]] = set()
    doomed: list[int] = []
    for exposure in stored_query.iterator(chunk_size=5000):
        key3 = (exposure.package_type, exposure.package_distro, exposure.package_name)
        if scope.keys is not None and key3 not in scope.keys:
            continue
        natural = (exposure.host_id, exposure.advisory_id, *key3, exposure.window_start)
        values = desired.get(natural)
        if values is None:
            doomed.append(exposure.pk)
            continue
        seen.add(natural)
        if all(getattr(exposure, name) == values[name] for name in _COMPARED):
            counts.unchanged += 1
            continue
        for name in _COMPARED:
            setattr(exposure, name, values[name])
        exposure.computed_at = now
        changed.append(exposure)
    # Each write is mirrored in the exposure history (evidence.models.exposure_history): the
    # superseded versions are closed at `now`, the new ones recorded from `now`.
    versions_close([*doomed, *(e.pk for e in changed)], now)
    if doomed:
        Exposure.objects.filter(pk__in=doomed).delete()
        counts.deleted = len(doomed)
    if changed:
        Exposure.objects.bulk_update(changed, [*_COMPARED, "computed_at"], batch_size=1000)
        counts.updated = len(changed)
    counts.unmapped = set(scope.unmapped)
    counts.unmapped_modules = set(scope.unmapped_modules)
    new = [
        Exposure(computed_at=now, **values)
        for natural, values in desired.items()
        if natural not in seen
    ]
    Exposure.objects.bulk_create(new, batch_size=2000)
    counts.created = len(new)
    versions_open([*changed, *new], now)
    if doomed:  # exceptions of replaced exposures follow their replacement
        exceptions_follow(host_ids=[h.pk for h in scope.hosts])
    return counts


@transaction.atomic
def exposures_recompute(*, organization_id: int) -> ReconcileCounts:
    """Recompute every exposure of an organisation from its ledger and the advisories."""
    hosts = list(
        Host.objects.filter(fleet__organization_id=organization_id).select_related("fleet")
    )
    return _reconcile(_Scope(hosts=hosts))


@transaction.atomic
def exposures_for_snapshot(document: SbomDocument) -> ReconcileCounts:
    """After a snapshot was applied to a host's ledger: recompute the package names whose
    intervals that snapshot opened or closed (its changes, and what a late snapshot split)."""
    if document.host_id is None:
        return ReconcileCounts()
    keys = set(
        PackageInterval.objects.filter(host_id=document.host_id)
        .filter(opened_by=document)
        .values_list("package__type", "package__distro", "package__name")
    ) | set(
        PackageInterval.objects.filter(host_id=document.host_id, closed_by=document).values_list(
            "package__type", "package__distro", "package__name"
        )
    )
    if not keys:
        return ReconcileCounts()
    hosts = list(Host.objects.filter(pk=document.host_id).select_related("fleet"))
    return _reconcile(_Scope(hosts=hosts, keys=keys))


@transaction.atomic
def exposures_for_advisories(advisory_ids: Iterable[int]) -> ReconcileCounts:
    """After advisories were created or changed: recompute them on every host that has (or had)
    a package of a name they are about."""
    ids = set(advisory_ids)
    if not ids:
        return ReconcileCounts()
    # An upstream VEX statement (a not_affected row) changes other advisories' exposures for
    # the same CVE: recompute those too.
    vex_ids = set(
        AffectedPackage.objects.filter(advisory_id__in=ids, status="not_affected").values_list(
            "advisory_id", flat=True
        )
    )
    if vex_ids:
        cves = set(
            AdvisoryAlias.objects.filter(
                advisory_id__in=vex_ids, alias__startswith="CVE-"
            ).values_list("alias", flat=True)
        ) | {
            external_id.upper()
            for external_id in Advisory.objects.filter(pk__in=vex_ids).values_list(
                "external_id", flat=True
            )
            if external_id.upper().startswith("CVE-")
        }
        ids |= kev_changed_advisories(cves)
    names = set(
        AffectedPackage.objects.filter(advisory_id__in=ids).values_list("package_type", "name")
    )
    name_set = {name for _t, name in names}
    keys = {
        key
        for key in Package.objects.filter(name__in=name_set)
        .values_list("type", "distro", "name")
        .distinct()
        if (key[0], key[2]) in names
    }
    # Rows naming only a source rpm reach the binaries built from it.
    source_rows = set(
        AffectedPackage.objects.filter(advisory_id__in=ids, package_type="rpm", arch="src")
        .values_list("name", flat=True)
        .distinct()
    )
    for source in sorted(source_rows)[:500]:
        keys |= set(
            Package.objects.filter(type="rpm", purl__contains=f"upstream={source}-")
            .values_list("type", "distro", "name")
            .distinct()
        )
    if not keys:
        # Still reconcile: an advisory whose rows changed may leave exposures to delete.
        hosts = list(
            Host.objects.filter(exposures__advisory_id__in=ids).distinct().select_related("fleet")
        )
        return _reconcile(_Scope(hosts=hosts, advisory_ids=ids)) if hosts else ReconcileCounts()
    host_ids = set(
        PackageInterval.objects.filter(package__name__in={k[2] for k in keys}).values_list(
            "host_id", flat=True
        )
    ) | set(Exposure.objects.filter(advisory_id__in=ids).values_list("host_id", flat=True))
    hosts = list(Host.objects.filter(pk__in=host_ids).select_related("fleet"))
    return _reconcile(_Scope(hosts=hosts, keys=keys, advisory_ids=ids))


def kev_changed_advisories(cves: Iterable[str]) -> set[int]:
    """Advisories naming these CVEs, as an alias or as their own id (their KEV dates or
    VEX statements changed: tiers, due dates and closures follow)."""
    wanted = set(cves)
    return set(
        AdvisoryAlias.objects.filter(alias__in=wanted).values_list("advisory_id", flat=True)
    ) | set(Advisory.objects.filter(external_id__in=wanted).values_list("pk", flat=True))
