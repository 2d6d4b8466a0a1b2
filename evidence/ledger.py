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
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from evidence.models import Host, Package, PackageInterval, SbomDocument, SbomStatus
from evidence.sbom import sbom_parse
from evidence.sbom.model import Component, Limits

_TIE_STEP = timedelta(microseconds=1)


@dataclass(frozen=True)
class LedgerChange:
    """What applying one snapshot changed: packages that appeared and that disappeared at t."""

    added: int
    removed: int


def purl_hash(purl: str) -> str:
    """The index key of a purl (not a security hash)."""
    return hashlib.md5(purl.encode("utf-8"), usedforsecurity=False).hexdigest()


def _package_fields(component: Component, key: str) -> dict[str, Any]:
    """The Package columns for a component, cut to the columns' sizes (one place for both the
    ORM and the COPY path)."""
    return {
        "purl_hash": key,
        "purl": component.purl,
        "type": component.type[:32],
        "namespace": component.namespace[:255],
        "name": component.name,
        "version": component.version,
        "epoch": component.epoch[:16],
        "release": component.release[:255],
        "arch": component.arch[:32],
        "distro": component.distro[:64],
        "cpe": component.cpe,
        "supplier": component.supplier,
        "licenses": list(component.licenses),
        "hashes": [list(pair) for pair in component.hashes],
    }


def packages_known(*, host: Host) -> dict[str, int]:
    """{purl_hash: package id} of the packages installed on the host now: a re-ingest only has
    to look up what is new since the last snapshot."""
    return dict(
        PackageInterval.objects.filter(host=host, present_until__isnull=True).values_list(
            "package__purl_hash", "package_id"
        )
    )


def packages_upsert(
    components: Iterable[Component], *, known: dict[str, int] | None = None
) -> dict[str, int]:
    """Package ids for the components' purls, creating the packages not seen before.

    Returns {purl: package id}. `known` ({purl_hash: id}, e.g. `packages_known`) saves the
    look-up of those packages. Safe against concurrent ingests: conflicts are ignored and the
    rows re-read."""
    by_key: dict[str, Component] = {}
    for component in components:
        by_key.setdefault(purl_hash(component.purl), component)
    known = known or {}
    ids = {key: known[key] for key in by_key if key in known}
    unknown = [key for key in by_key if key not in ids]
    if unknown and connection.vendor == "postgresql":
        ids.update(_packages_upsert_copy([(key, by_key[key]) for key in unknown]))
    elif unknown:
        for start in range(0, len(unknown), 5000):
            chunk = unknown[start : start + 5000]
            ids.update(Package.objects.filter(purl_hash__in=chunk).values_list("purl_hash", "id"))
        missing = [key for key in unknown if key not in ids]
        if missing:
            Package.objects.bulk_create(
                [Package(**_package_fields(by_key[key], key)) for key in missing],
                batch_size=2000,
                ignore_conflicts=True,
            )
            for start in range(0, len(missing), 5000):
                chunk = missing[start : start + 5000]
                ids.update(
                    Package.objects.filter(purl_hash__in=chunk).values_list("purl_hash", "id")
                )
    return {by_key[key].purl: pk for key, pk in ids.items()}


_PACKAGE_COLUMN_NAMES = (
    "purl_hash", "purl", "type", "namespace", "name", "version", "epoch", "release", "arch",
    "distro", "cpe", "supplier", "licenses", "hashes",
)  # fmt: skip
_PACKAGE_COLUMNS = ", ".join(_PACKAGE_COLUMN_NAMES)


def _packages_upsert_copy(rows: list[tuple[str, Component]]) -> dict[str, int]:
    """PostgreSQL: COPY the candidates into a temporary table, insert the new ones in one
    statement and read every id back with a join. Three round trips whatever the count."""
    table = Package._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS package_incoming (purl_hash varchar(32), "
            "purl text, type varchar(32), namespace varchar(255), name text, version text, "
            "epoch varchar(16), release varchar(255), arch varchar(32), distro varchar(64), "
            "cpe text, supplier text, licenses jsonb, hashes jsonb) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE package_incoming")
        with cursor.cursor.copy(f"COPY package_incoming ({_PACKAGE_COLUMNS}) FROM STDIN") as copy:
            for key, component in rows:
                fields = _package_fields(component, key)
                fields["licenses"] = json.dumps(fields["licenses"])
                fields["hashes"] = json.dumps(fields["hashes"])
                copy.write_row(tuple(fields[column] for column in _PACKAGE_COLUMN_NAMES))
        insert = (
            f"INSERT INTO {table} ({_PACKAGE_COLUMNS}) "  # noqa: S608 - our table and columns
            f"SELECT {_PACKAGE_COLUMNS} FROM package_incoming ON CONFLICT (purl_hash) DO NOTHING"
        )
        cursor.execute(insert)
        select = (
            "SELECT i.purl_hash, p.id FROM package_incoming i "  # noqa: S608 - our table
            f"JOIN {table} p ON p.purl_hash = i.purl_hash"
        )
        cursor.execute(select)
        return dict(cursor.fetchall())


def _insert_intervals(rows: Sequence[tuple[int, int, datetime, datetime | None, Any, Any]]) -> None:
    """Insert (host, package, from, until, opened_by, closed_by) rows: COPY on PostgreSQL."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = PackageInterval._meta.db_table
        columns = "host_id, package_id, present_from, present_until, opened_by_id, closed_by_id"
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor, for COPY
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
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
    later = (
        SbomDocument.objects.filter(host=host, status=SbomStatus.INGESTED, snapshot_at__gt=taken_at)
        .exclude(pk=document.pk)
        .order_by("snapshot_at")
        .values_list("pk", "snapshot_at")
        .first()
    )
    next_doc, t_next = later if later else (None, None)

    intervals = PackageInterval.objects.filter(host=host)
    covering = list(
        intervals.filter(present_from__lte=taken_at)
        .exclude(present_until__lte=taken_at)
        .values_list("id", "package_id", "present_until", "closed_by_id")
    )
    covered = {package for _, package, _, _ in covering}
    cut = [row for row in covering if row[1] not in package_ids]
    if cut:
        PackageInterval.objects.filter(pk__in=[pk for pk, _, _, _ in cut]).update(
            present_until=taken_at, closed_by=document
        )
    # A cut interval that reached past the next snapshot goes on from there.
    remainders = [
        (host.pk, package, t_next, until, next_doc, closed)
        for _, package, until, closed in cut
        if t_next is not None and (until is None or until > t_next)
    ]

    appearing = package_ids - covered
    new_rows: list[tuple[int, int, datetime, datetime | None, Any, Any]] = []
    if t_next is not None and appearing:
        starting_next = dict(
            intervals.filter(present_from=t_next, package_id__in=appearing).values_list(
                "package_id", "id"
            )
        )
        if starting_next:
            PackageInterval.objects.filter(pk__in=starting_next.values()).update(
                present_from=taken_at, opened_by=document
            )
        new_rows = [
            (host.pk, package, taken_at, t_next, document.pk, next_doc)
            for package in appearing
            if package not in starting_next
        ]
    else:
        new_rows = [(host.pk, package, taken_at, None, document.pk, None) for package in appearing]
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
    PackageInterval.objects.filter(pk__in=gone).update(present_until=taken_at, closed_by=document)
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
    "packages_upsert",
    "purl_hash",
    "snapshot_time_unique",
]
