"""The host package ledger: applying a snapshot, and rebuilding a host's ledger from its SBOMs.

A host's ledger is a set of intervals [present_from, present_until) per package, whose bounds
are snapshot times. Applying a snapshot taken at time t with package set P is the same
operation whether t is the newest snapshot or one that arrived late:

- an interval covering t whose package is not in P is cut at t; if it reached past the next
  snapshot (t_next), its remainder [t_next, until) is kept as its own interval;
- a package of P not covered at t starts at t: an interval that began at t_next is extended
  back to t, otherwise a new one runs from t until t_next (or stays open when t is newest).

Snapshot times are unique per host (a tie is broken by a microsecond), so no interval can
start or end exactly at a new snapshot's time and no merging is ever needed. Replaying a
host's documents in snapshot order (`ledger_rebuild`) gives the same intervals as applying
them in any arrival order.

Writing it is built for the two cases that matter (see bench/ingest.py): a new host, whose
thousands of packages are mostly new, and a host's next snapshot, which changes a few. Packages
are found by a 64-bit key of their purl, checked against the purl itself; the new ones are
COPYed straight into the table (a new host's thousands of new packages are written without
looking each up first, once a sample of their keys shows none stored). A snapshot reads the
host's intervals covering its time once, with their purls, which settles the packages the host
already has without looking them up, and then writes only the changes: a re-ingest with 20
upgrades is a handful of statements.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from psycopg import errors as pg_errors

from evidence.models import Host, Package, PackageInterval, SbomDocument, SbomStatus
from evidence.sbom import sbom_parse
from evidence.sbom.model import Component, Limits

_TIE_STEP = timedelta(microseconds=1)
_KEY_MAX = (1 << 63) - 1
_KEY_MIN = -(1 << 63)
# Look-up rounds before giving up: each round settles every purl but those whose key turned out
# to be another purl's (64-bit collisions: next to never) or that a concurrent ingest inserted.
_ROUNDS = 64
_CHUNK = 900  # keys per `IN (...)` on databases without arrays (SQLite's variable limit)
# From this many purls to settle, a sample of their keys is looked up first; if none is
# stored, all are written at once without looking the others up (see `packages_upsert`).
_WRITE_FIRST_FROM = 256
_SAMPLE = 32

# (id, package id, present_until, closed_by id) of an interval covering a snapshot time.
_Covering = tuple[int, int, datetime | None, int | None]
_NewInterval = tuple[int, int, datetime, datetime | None, Any, Any]


@dataclass(frozen=True)
class LedgerChange:
    """What applying one snapshot changed: packages that appeared and that disappeared at t."""

    added: int
    removed: int


def purl_hash(purl: str) -> int:
    """The index key of a purl: the first 8 bytes of its MD5 as a signed 64-bit integer. Not a
    security hash and not unique: look-ups compare the purl itself (see `packages_upsert`)."""
    digest = hashlib.md5(purl.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _key_next(key: int) -> int:
    """Where a purl goes when its key is another purl's: the next key, wrapping around."""
    return _KEY_MIN if key == _KEY_MAX else key + 1


_PACKAGE_COLUMN_NAMES = (
    "purl_hash", "purl", "type", "namespace", "name", "version", "epoch", "release", "arch",
    "distro", "cpe", "supplier", "licenses", "hashes",
)  # fmt: skip
_PACKAGE_COLUMNS = ", ".join(_PACKAGE_COLUMN_NAMES)
# The PostgreSQL types of the interval columns `_insert_intervals` writes, for binary COPY.
_INTERVAL_TYPES = ["int8", "int8", "timestamptz", "timestamptz", "int8", "int8"]


def _json_text(value: tuple[Any, ...]) -> str:
    return orjson.dumps(value).decode()


def _package_row(
    component: Component, key: int, json: Callable[[tuple[Any, ...]], Any] = list
) -> tuple[Any, ...]:
    """The Package columns for a component, in `_PACKAGE_COLUMN_NAMES` order and cut to the
    columns' sizes (one place for both the ORM and the COPY path). `json` turns `licenses` and
    `hashes` into what the path writes: lists for the ORM, JSON text for COPY."""
    return (
        key,
        component.purl,
        component.type[:32],
        component.namespace[:255],
        component.name,
        component.version,
        component.epoch[:16],
        component.release[:255],
        component.arch[:32],
        component.distro[:64],
        component.cpe,
        component.supplier,
        json(component.licenses),
        json(component.hashes),
    )


def packages_known(*, host: Host) -> dict[str, int]:
    """{purl: package id} of the packages installed on the host now: a re-ingest only has to
    look up what is new since the last snapshot."""
    return {
        purl: pk
        for pk, purl in PackageInterval.objects.filter(
            host=host, present_until__isnull=True
        ).values_list("package_id", "package__purl")
    }


def packages_upsert(
    components: Iterable[Component], *, known: dict[str, int] | None = None
) -> dict[str, int]:
    """Package ids for the components' purls, creating the packages not seen before.

    Returns {purl: package id}. `known` ({purl: id}, e.g. `packages_known`) saves the look-up of
    those packages. The others are looked up by key in one query; the new ones are written
    straight into the table (PostgreSQL: COPY with ids drawn from its sequence), with no
    temporary table and no ON CONFLICT. A key is trusted only with its purl: a purl whose key is
    another purl's moves on to the next key, and a write that meets a package a concurrent
    ingest inserted meanwhile is undone (savepoint) and that package looked up again."""
    wanted: dict[str, Component] = {}
    for component in components:
        if component.purl not in wanted:
            wanted[component.purl] = component
    ids: dict[str, int] = {}
    if known:
        for purl in wanted:
            pk = known.get(purl)
            if pk is not None:
                ids[purl] = pk
    pending = {purl: purl_hash(purl) for purl in wanted if purl not in ids}
    if connection.vendor == "postgresql" and len(pending) >= _WRITE_FIRST_FROM:
        ordered = sorted(pending.items(), key=lambda item: item[1])  # key order, as below
        if _none_stored([key for _purl, key in ordered]):
            # All or none: a key met stored (a package the sample missed, or another purl's)
            # undoes the write, and the rounds below settle every purl.
            created = _packages_insert([(key, wanted[purl]) for purl, key in ordered])
            ids.update(created)
            pending = {purl: key for purl, key in pending.items() if purl not in created}
    for _ in range(_ROUNDS):
        if not pending:
            return ids
        found = _packages_at(list(pending.values()))
        new: dict[str, int] = {}
        keys_new: set[int] = set()
        again: dict[str, int] = {}
        for purl, key in pending.items():
            row = found.get(key)
            if row is None and key not in keys_new:
                new[purl] = key
                keys_new.add(key)
            elif row is None:  # two new purls of this document with one key: the next round
                again[purl] = key
            elif row[1] == purl:
                ids[purl] = row[0]
            else:
                again[purl] = _key_next(key)
        if new:
            # In key order: two ingests writing the same new packages then wait for each other
            # in the same order, and cannot deadlock.
            ordered = sorted(new.items(), key=lambda item: item[1])
            created = _packages_insert([(key, wanted[purl]) for purl, key in ordered])
            ids.update(created)
            again.update((purl, key) for purl, key in new.items() if purl not in created)
        pending = again
    raise RuntimeError(f"could not settle package keys for {len(pending)} purls")


def _none_stored(keys: list[int]) -> bool:
    """Whether the purls of `keys` (sorted) may be written straight away, without looking
    each key up first: the keys are distinct and a sample of them finds nothing stored. That
    is a new host whose packages are new (a fleet's first host, a new image), where the
    look-up of thousands of keys, all missing, cost as much as writing them. A host like
    others already stored has its packages found by the sample, and takes the look-up."""
    if len(set(keys)) != len(keys):
        return False
    step = max(1, len(keys) // _SAMPLE)
    return not _packages_at(keys[step // 2 :: step][:_SAMPLE])


def _packages_at(keys: list[int]) -> dict[int, tuple[int, str]]:
    """{key: (id, purl)} of the packages stored at these keys."""
    if connection.vendor == "postgresql":
        table = Package._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT purl_hash, id, purl FROM {table} "  # noqa: S608 - our table
                "WHERE purl_hash = ANY(%s::bigint[])",
                # An array literal: psycopg's list adapter costs ~1.5 us per element.
                ["{" + ",".join(map(str, keys)) + "}"],
            )
            return {key: (pk, purl) for key, pk, purl in cursor.fetchall()}
    found: dict[int, tuple[int, str]] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = Package.objects.filter(purl_hash__in=keys[start : start + _CHUNK])
        for key, pk, purl in rows.values_list("purl_hash", "id", "purl"):
            found[key] = (pk, purl)
    return found


def _packages_insert(rows: list[tuple[int, Component]]) -> dict[str, int]:
    """Write new packages at their keys; {purl: id} of those known to be written. On
    PostgreSQL all or none (a concurrent ingest got one of the keys first: none); elsewhere
    none, and the caller's next round reads them back."""
    if connection.vendor != "postgresql":
        Package.objects.bulk_create(
            [
                Package(
                    **dict(zip(_PACKAGE_COLUMN_NAMES, _package_row(component, key), strict=True))
                )
                for key, component in rows
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        return {}
    table = Package._meta.db_table
    with connection.cursor() as cursor:
        # The sequence as a scalar subquery: PostgreSQL looks it up once (an InitPlan). Joined
        # as a subquery, it looked it up again for every id (18 of 22 ms for 10,000 ids).
        cursor.execute(
            "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id')::regclass)) "
            "FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            sql = f"COPY {table} (id, {_PACKAGE_COLUMNS}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                write = copy.write_row
                for pk, (key, component) in zip(pks, rows, strict=True):
                    write((pk, *_package_row(component, key, _json_text)))
    except (IntegrityError, pg_errors.UniqueViolation):
        return {}
    return {component.purl: pk for pk, (_, component) in zip(pks, rows, strict=True)}


def _insert_intervals(rows: Sequence[_NewInterval]) -> None:
    """Insert (host, package, from, until, opened_by, closed_by) rows: COPY on PostgreSQL."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = PackageInterval._meta.db_table
        columns = "host_id, package_id, present_from, present_until, opened_by_id, closed_by_id"
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor, for COPY
            # Binary: the server then parses no timestamps (a tenth of the COPY's time).
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_INTERVAL_TYPES)
                write = copy.write_row
                for row in rows:
                    write(row)
        return
    PackageInterval.objects.bulk_create(
        [
            PackageInterval(
                host_id=host,
                package_id=package,
                present_from=start,
                present_until=until,
                opened_by_id=opened,
                closed_by_id=closed,
            )
            for host, package, start, until, opened, closed in rows
        ],
        batch_size=2000,
    )


def snapshot_time_unique(*, host: Host, wanted: datetime, document_id: int) -> datetime:
    """`wanted`, moved on by microseconds past any other ingested snapshot of the host at the
    very same time, so that every snapshot of a host has its own time."""
    taken = set(
        SbomDocument.objects.filter(
            host=host,
            status=SbomStatus.INGESTED,
            snapshot_at__gte=wanted,
            snapshot_at__lt=wanted + timedelta(milliseconds=1),
        )
        .exclude(pk=document_id)
        .values_list("snapshot_at", flat=True)
    )
    while wanted in taken:
        wanted += _TIE_STEP
    return wanted


def ledger_apply(
    *, host: Host, document: SbomDocument, taken_at: datetime, package_ids: set[int]
) -> LedgerChange:
    """Apply the snapshot `document` of `host`, taken at `taken_at` (unique for the host), whose
    packages are `package_ids` (from `packages_upsert`). Must run inside the caller's
    transaction with the host row locked (`select_for_update`), which serialises snapshots of
    one host."""
    later = _snapshot_after(host=host, document=document, taken_at=taken_at)
    covering = [row[:4] for row in _covering(host=host, taken_at=taken_at)]
    return _apply(
        host=host,
        document=document,
        taken_at=taken_at,
        package_ids=package_ids,
        covering=covering,
        later=later,
    )


def snapshot_apply(
    *, host: Host, document: SbomDocument, taken_at: datetime, components: Sequence[Component]
) -> LedgerChange:
    """`packages_upsert` then `ledger_apply`, as an ingest does them, with one read of the
    host's intervals at `taken_at` serving both: their purls settle the packages the host
    already has, so only the new ones are looked up, and only the changes are written. Same
    transaction and lock requirements as `ledger_apply`."""
    later = _snapshot_after(host=host, document=document, taken_at=taken_at)
    rows = _covering(host=host, taken_at=taken_at)
    ids = packages_upsert(components, known={purl: package for _, package, _, _, purl in rows})
    return _apply(
        host=host,
        document=document,
        taken_at=taken_at,
        package_ids=set(ids.values()),
        covering=[row[:4] for row in rows],
        later=later,
    )


def _snapshot_after(
    *, host: Host, document: SbomDocument, taken_at: datetime
) -> tuple[int, datetime] | None:
    """(id, time) of the host's first ingested snapshot after `taken_at`, if any."""
    row = (
        SbomDocument.objects.filter(host=host, status=SbomStatus.INGESTED, snapshot_at__gt=taken_at)
        .exclude(pk=document.pk)
        .order_by("snapshot_at")
        .values_list("pk", "snapshot_at")
        .first()
    )
    if row is None or row[1] is None:
        return None
    return row[0], row[1]


def _covering(
    *, host: Host, taken_at: datetime
) -> list[tuple[int, int, datetime | None, int | None, str]]:
    """(id, package id, present_until, closed_by id, purl) of the host's intervals covering
    `taken_at` (for the newest snapshot: the open ones)."""
    if connection.vendor == "postgresql":  # the same query without the ORM's per-row cost
        intervals, packages = PackageInterval._meta.db_table, Package._meta.db_table
        sql = (
            "SELECT i.id, i.package_id, i.present_until, i.closed_by_id, p.purl "  # noqa: S608
            f"FROM {intervals} i JOIN {packages} p ON p.id = i.package_id "
            "WHERE i.host_id = %s AND i.present_from <= %s "
            "AND (i.present_until IS NULL OR i.present_until > %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [host.pk, taken_at, taken_at])
            return cursor.fetchall()
    return list(
        PackageInterval.objects.filter(
            Q(present_until__isnull=True) | Q(present_until__gt=taken_at),
            host=host,
            present_from__lte=taken_at,
        )
        .order_by()
        .values_list("id", "package_id", "present_until", "closed_by_id", "package__purl")
    )


def _apply(
    *,
    host: Host,
    document: SbomDocument,
    taken_at: datetime,
    package_ids: set[int],
    covering: list[_Covering],
    later: tuple[int, datetime] | None,
) -> LedgerChange:
    """The ledger changes of one snapshot, given the intervals covering its time and the next
    snapshot: writes only what changes (a handful of statements whatever the host's size)."""
    next_doc, t_next = later if later else (None, None)
    host_id, document_id = host.pk, document.pk
    covered = {package for _, package, _, _ in covering}
    cut = [row for row in covering if row[1] not in package_ids]
    if cut:
        PackageInterval.objects.filter(pk__in=[pk for pk, _, _, _ in cut]).update(
            present_until=taken_at, closed_by=document
        )
    # A cut interval that reached past the next snapshot goes on from there.
    remainders: list[_NewInterval] = [
        (host_id, package, t_next, until, next_doc, closed)
        for _, package, until, closed in cut
        if t_next is not None and (until is None or until > t_next)
    ]

    appearing = package_ids - covered
    new_rows: list[_NewInterval]
    if t_next is not None and appearing:
        starting_next = dict(
            PackageInterval.objects.filter(
                host=host, present_from=t_next, package_id__in=appearing
            ).values_list("package_id", "id")
        )
        if starting_next:
            PackageInterval.objects.filter(pk__in=starting_next.values()).update(
                present_from=taken_at, opened_by=document
            )
        new_rows = [
            (host_id, package, taken_at, t_next, document_id, next_doc)
            for package in appearing
            if package not in starting_next
        ]
    else:
        new_rows = [
            (host_id, package, taken_at, None, document_id, None) for package in sorted(appearing)
        ]
    _insert_intervals(remainders + new_rows)
    return LedgerChange(added=len(appearing), removed=len(cut))


def ledger_rebuild(*, host: Host, limits: Limits | None = None) -> int:
    """Rebuild the host's ledger from its stored, ingested SBOMs, in snapshot order.

    Idempotent; locks the host. Returns the number of snapshots replayed."""
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=host.pk)
        PackageInterval.objects.filter(host=host).delete()
        documents = list(
            SbomDocument.objects.filter(host=host, status=SbomStatus.INGESTED)
            .exclude(snapshot_at__isnull=True)
            .order_by("snapshot_at", "pk")
        )
        for document in documents:
            with document.raw.open("rb") as fh:
                parsed = sbom_parse(gzip.decompress(fh.read()), limits=limits)
            ids = packages_upsert(parsed.components, known=packages_known(host=host))
            del parsed
            _apply_newest(host=host, document=document, package_ids=set(ids.values()))
    return len(documents)


def _apply_newest(*, host: Host, document: SbomDocument, package_ids: set[int]) -> None:
    """Apply a snapshot newer than every one in the ledger (the rebuild's replay step). Not
    `ledger_apply`, which would see the later documents not yet replayed as already applied."""
    taken_at = document.snapshot_at
    if taken_at is None:
        raise ValueError(f"SBOM {document.pk} has no snapshot time")
    open_now = dict(
        PackageInterval.objects.filter(host=host, present_until__isnull=True).values_list(
            "package_id", "id"
        )
    )
    gone = [pk for package, pk in open_now.items() if package not in package_ids]
    if gone:
        PackageInterval.objects.filter(pk__in=gone).update(
            present_until=taken_at, closed_by=document
        )
    _insert_intervals(
        [
            (host.pk, package, taken_at, None, document.pk, None)
            for package in package_ids - open_now.keys()
        ]
    )


def ledger_intervals(*, host: Host) -> list[tuple[str, datetime, datetime | None]]:
    """The host's ledger as (purl, from, until) tuples, sorted: for comparisons and exports."""
    rows = PackageInterval.objects.filter(host=host).values_list(
        "package__purl", "present_from", "present_until"
    )
    return sorted(rows, key=lambda r: (r[0], r[1]))


__all__ = [
    "LedgerChange",
    "ledger_apply",
    "ledger_intervals",
    "ledger_rebuild",
    "packages_known",
    "packages_upsert",
    "purl_hash",
    "snapshot_apply",
    "snapshot_time_unique",
]
