"""Storing parsed feed records: upserts on natural keys, newest record wins.

- An advisory is keyed by (source, external_id). A record whose normalised form (its digest)
  equals the stored one is unchanged. A record older than the stored one (by `modified_at`)
  never overwrites it. Otherwise the stored row is replaced, with its aliases and affected rows.
- Nothing is ever deleted: a withdrawn advisory keeps its rows and gets `withdrawn_at`.
- Callers run these inside one transaction, so a failure stores nothing.

Advisories are stored as a parser reads them (AdvisoryWriter, a batch at a time): on
PostgreSQL new ones go in with binary COPY, sent without waiting for the database (libpq's
nonblocking mode) and moved on between records, so that the database stores one batch while
the parser reads the next: parsing and storing overlap on two cores (a 20,000-record OSV first
sync: see bench/feeds.py; the connection-level part is evidence.feeds.pgcopy). The outcome is
the same as storing everything at once.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from evidence.feeds import model as feed
from evidence.feeds.pgcopy import CopyStatement, Pump, Stored
from evidence.models import (
    Advisory,
    AdvisoryAlias,
    AffectedPackage,
    FeedPayload,
    KevEntry,
    RetiredPackage,
)


@dataclass
class StoreCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    affected_packages: int = 0
    changed_advisories: set[int] = field(default_factory=set)  # created or updated (ids)
    changed_cves: set[str] = field(default_factory=set)  # KEV entries created or updated

    def add(self, other: StoreCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.affected_packages += other.affected_packages
        self.changed_advisories |= other.changed_advisories
        self.changed_cves |= other.changed_cves


def digest(record: object) -> str:
    """SHA-256 of a record's canonical JSON (dataclasses, datetimes and dates included)."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _not_older(new: datetime | None, old: datetime | None) -> bool:
    return old is None or (new is not None and new >= old)


def _score(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(min(max(value, 0.0), 10.0), 1)))


def _advisory_fields(record: feed.Advisory, key: str) -> dict[str, Any]:
    """The Advisory model fields of a record (the same values COPY writes)."""
    fields = dict(zip(_ADVISORY_COLUMNS, _advisory_values(record, key), strict=True))
    fields["references"] = list(record.references)
    return fields


def _affected_fields(row: feed.Affected) -> dict[str, Any]:
    """The AffectedPackage model fields of a row (the same values COPY writes)."""
    return dict(zip(_AFFECTED_COLUMNS, _affected_values(row), strict=True))


_AFFECTED_COLUMNS = (
    "package_type", "namespace", "distro", "name", "vers", "fixed_version", "fix_available_at",
    "status", "product", "arch", "module", "justification",
)  # fmt: skip
_ADVISORY_COLUMNS = (
    "kind", "title", "description", "severity", "cvss_vector", "cvss_score", "published_at",
    "modified_at", "withdrawn_at", "references", "milestones", "digest",
)  # fmt: skip

BATCH = 1000  # advisories stored at a time
FIRST_BATCH = 200
COPY_ROWS = 32  # advisories_store uses COPY from this many rows on (fewer: the ORM)
PUMP_EVERY = 4  # records read between two turns of the COPY's statements (see _Copy.pump)


def _stored(source: str, ids: list[str]) -> dict[str, Stored]:
    """{external_id: (pk, digest, modified_at)} of the stored advisories among `ids`."""
    existing: dict[str, Stored] = {}
    for start in range(0, len(ids), 5000):
        rows = Advisory.objects.filter(
            source=source, external_id__in=ids[start : start + 5000]
        ).values_list("external_id", "pk", "digest", "modified_at")
        existing.update({ext: (pk, key, modified) for ext, pk, key, modified in rows})
    return existing


def advisories_store(
    source: str, records: Iterable[feed.Advisory], *, payload: FeedPayload | None
) -> StoreCounts:
    """Upsert `records` of `source`; returns what was created, updated and left unchanged."""
    # A few rows (a small CSAF advisory, say, of a directory stored a document at a time) are
    # stored with the ORM: below about 30 rows, setting up COPY costs more than it saves
    # (measured with the COPY thread this replaced: 1 advisory of 1 row 1.8 ms with the ORM,
    # 2.3 ms with COPY; of 30 rows, 2.8 and 2.5 ms; of 300 rows, 15 and 5.5 ms).
    copy = not isinstance(records, Sequence) or (
        sum(1 + len(record.affected) for record in records) >= COPY_ROWS
    )
    with AdvisoryWriter(source, payload=payload, copy=copy) as writer:
        for record in records:
            writer.add(record)
    return writer.counts


class AdvisoryWriter:
    """Stores the advisories of one source as a parser reads them: `add` each, then leave the
    `with` block (or call `finish`); `counts` then says what was created, updated and left
    unchanged. The outcome is that of storing them all at once (see the module docstring):

    - records of ids not stored yet are inserted a batch at a time as they come;
    - the others (ids stored already, or met again in this run) are kept, the newest per id
      (the later one on a tie), and compared with what is stored at the end.

    Everything happens in one transaction (the caller's, or one of its own): an exception in
    the `with` block stores nothing. On PostgreSQL the batches are looked up and COPYed
    without waiting for the database (see _Copy), on the transaction's connection: the caller
    must not use the database until the block ends. The database stores one batch while the
    parser reads the next, on two cores instead of one after the other.
    """

    def __init__(self, source: str, *, payload: FeedPayload | None, copy: bool = True) -> None:
        self.source = source
        self.payload = payload
        self.now = timezone.now()
        self.counts = StoreCounts()
        self._use_copy = copy  # on PostgreSQL: COPY (else the ORM)
        self._turns = 0  # records added since the COPY's statements last moved on
        self._batch = FIRST_BATCH  # a small one first: the database starts sooner
        self._pending: list[feed.Advisory] = []
        # Advisories this writer created: external id -> (pk, digest, modified_at, rows).
        self._created: dict[str, tuple[int, str, datetime | None, int]] = {}
        # Records of ids stored already (or created here), the newest per id, and what is stored.
        self._later: dict[str, feed.Advisory] = {}
        self._stored: dict[str, Stored] = {}
        self._atomic = transaction.atomic(savepoint=False)
        self._copy: _Copy | None = None
        self._state = "new"

    def __enter__(self) -> AdvisoryWriter:
        self._atomic.__enter__()
        self._state = "open"
        if connection.vendor == "postgresql" and self._use_copy:
            try:
                self._copy = _Copy(self)
            except BaseException as exc:
                self._atomic.__exit__(type(exc), exc, exc.__traceback__)
                raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc is None and self._state == "open":
            try:
                self.finish()
            except BaseException as error:
                self._atomic.__exit__(type(error), error, error.__traceback__)
                raise
        elif self._state == "open":
            self._state = "failed"
            if self._copy is not None:
                self._copy.stop(raise_error=False)
        self._atomic.__exit__(kind, exc, tb)

    def add(self, record: feed.Advisory) -> None:
        """Takes one record (stored with its batch, or compared at the end)."""
        self._pending.append(record)
        if len(self._pending) >= self._batch:
            self._flush()
            self._batch = BATCH
        elif self._copy is not None:
            self._turns += 1
            if self._turns >= PUMP_EVERY:
                self._turns = 0
                self._copy.pump()
                if self._copy.answered:
                    self._copy.answers(self, wait=False)  # COPY the batch looked up, now

    def finish(self) -> StoreCounts:
        """Stores what is left; the database may be used again afterwards."""
        if self._state != "open":
            raise RuntimeError(f"the advisory writer is {self._state}")
        self._state = "finishing"
        self._flush()
        if self._copy is not None:
            self._copy.answers(self, wait=True)
            self._copy.stop(raise_error=True)
        self._compare_later()
        self._state = "finished"
        return self.counts

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        if self._copy is None:
            self._store_batch(batch, _stored(self.source, self._unknown(batch)), self._insert_orm)
        else:
            self._copy.ask(batch, self._unknown(batch))
            self._copy.answers(self, wait=False)

    def _unknown(self, batch: list[feed.Advisory]) -> list[str]:
        """The ids of `batch` that are neither created by this writer nor known stored."""
        return [
            external_id
            for external_id in {record.external_id for record in batch}
            if external_id not in self._created and external_id not in self._stored
        ]

    def _store_batch(
        self,
        batch: list[feed.Advisory],
        stored: dict[str, Stored],
        insert: Callable[[list[tuple[feed.Advisory, str]]], tuple[list[int], int]],
    ) -> None:
        """Inserts the new records of `batch` (`stored`: the stored ones among them), keeps the
        others for `_compare_later`."""
        self._stored.update(stored)
        new: list[tuple[feed.Advisory, str]] = []
        fresh: set[str] = set()
        for record in batch:
            external_id = record.external_id
            if external_id in self._created or external_id in fresh or external_id in self._stored:
                self._keep(record)
            else:
                fresh.add(external_id)
                new.append((record, digest(record)))
        if not new:
            return
        ids, rows = insert(new)
        for pk, (record, key) in zip(ids, new, strict=True):
            self._created[record.external_id] = (pk, key, record.modified_at, len(record.affected))
        self.counts.created += len(new)
        self.counts.affected_packages += rows
        self.counts.changed_advisories.update(ids)

    def _keep(self, record: feed.Advisory) -> None:
        """Keeps the newest record per id (the later one on a tie); the others are unchanged."""
        current = self._later.get(record.external_id)
        if current is not None:
            self.counts.unchanged += 1
            if not _not_older(record.modified_at, current.modified_at):
                return
        self._later[record.external_id] = record

    def _compare_later(self) -> None:
        """Replaces the stored advisories the kept records are newer versions of."""
        changed: list[tuple[int, feed.Advisory, str]] = []
        again: list[tuple[int, feed.Advisory, str]] = []  # of advisories created by this run
        for external_id, record in self._later.items():
            key = digest(record)
            created = self._created.get(external_id)
            if created is not None:
                # The id counts once, as created; the newest of its records is what stays.
                self.counts.unchanged += 1
                pk, first_key, first_modified, rows = created
                if key != first_key and _not_older(record.modified_at, first_modified):
                    again.append((pk, record, key))
                    self.counts.affected_packages -= rows
                continue
            pk, stored_key, stored_modified = self._stored[external_id]
            if stored_key == key or not _not_older(record.modified_at, stored_modified):
                self.counts.unchanged += 1
            else:
                changed.append((pk, record, key))
        if changed or again:
            self.counts.updated += len(changed)
            self.counts.affected_packages += _replace(changed + again, self.payload, self.now)
            self.counts.changed_advisories.update(pk for pk, _record, _key in changed)

    def _insert_orm(self, new: list[tuple[feed.Advisory, str]]) -> tuple[list[int], int]:
        """Inserts new advisories with their aliases and affected rows (bulk_create): (their
        ids, affected rows written)."""
        created = Advisory.objects.bulk_create(
            [
                Advisory(
                    source=self.source,
                    external_id=record.external_id,
                    payload=self.payload,
                    first_seen_at=self.now,
                    changed_at=self.now,
                    **_advisory_fields(record, key),
                )
                for record, key in new
            ],
            batch_size=1000,
        )
        pairs = [(row.pk, record) for row, (record, _key) in zip(created, new, strict=True)]
        return [pk for pk, _record in pairs], _children_create(pairs)


class _Copy:
    """An AdvisoryWriter's batches on PostgreSQL: looked up (with ids drawn for the new
    advisories in the same round trip) and inserted with binary COPY, while the parser reads on.

    `ask` queues a batch's lookup; `answers` takes the lookups answered, and for each, lets
    the writer sort the batch and queues the COPY of its new advisories (formatted here, with
    psycopg's COPY formatter writing to memory); `pump`, called between records, moves the
    statements on (see Pump); `stop` waits for everything queued.

    The foreign key of the advisories (to their payload, deferred to the commit otherwise) is
    checked at the end of every COPY instead (IMMEDIATE for the run, then DEFERRED again),
    while the parser reads the next batch, rather than all at once at commit; the aliases and
    affected rows are checked by triggers at the end of every COPY (migration 0020)."""

    def __init__(self, writer: AdvisoryWriter) -> None:
        import psycopg
        from psycopg.types.json import set_json_dumps

        connection.ensure_connection()
        raw = connection.connection  # psycopg's, in the caller's transaction
        # For formatting only (no statement runs on it): COPY data to memory.
        self._formatting = psycopg.Cursor(raw)
        set_json_dumps(orjson.dumps, self._formatting)  # the jsonb columns
        self._payload_id = writer.payload.pk if writer.payload else None
        tables = [model._meta.db_table for model in (Advisory, AdvisoryAlias, AffectedPackage)]
        # What the statements need, in one round trip: the id sequence, whether the source
        # has advisories, the deferred foreign keys of the three tables, the column types.
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%(advisory)s, 'id'), "  # noqa: S608
                f"EXISTS (SELECT FROM {tables[0]} WHERE source = %(source)s), "
                "ARRAY(SELECT format('%%I.%%I', n.nspname, c.conname) FROM pg_constraint AS c "
                "JOIN pg_namespace AS n ON n.oid = c.connamespace WHERE c.contype = 'f' "
                "AND c.condeferrable AND c.condeferred "
                "AND c.conrelid = ANY(%(tables)s::regclass[])), "
                "(SELECT json_object_agg(attrelid::regclass::text || '.' || attname, "
                "atttypid::int) FROM pg_attribute WHERE attrelid = ANY(%(tables)s::regclass[]) "
                "AND attnum > 0 AND NOT attisdropped)",
                {"advisory": tables[0], "source": writer.source, "tables": tables},
            )
            row = cursor.fetchone()
            if row is None:  # one row, always
                raise RuntimeError("the catalog query returned nothing")
            sequence, stored_any, constraints, types = row
            self._constraints = ", ".join(constraints)
            if self._constraints:
                cursor.execute(f"SET CONSTRAINTS {self._constraints} IMMEDIATE")
        columns = ("id", "source", "external_id", "payload_id", "first_seen_at", "changed_at")
        self._statements = [
            CopyStatement(tables[0], (*columns, *_ADVISORY_COLUMNS), types),
            CopyStatement(tables[1], ("advisory_id", "alias"), types),
            CopyStatement(tables[2], ("advisory_id", *_AFFECTED_COLUMNS), types),
        ]
        self._asked: collections.deque[list[feed.Advisory]] = collections.deque()
        self._ids: dict[str, int] = {}
        self._pump = Pump(raw, writer.source, sequence, lookup=stored_any)

    def ask(self, batch: list[feed.Advisory], unknown: list[str]) -> None:
        self._asked.append(batch)
        self._pump.lookup(unknown)

    def pump(self) -> None:
        """Moves the statements on as far as the database allows now (it never waits)."""
        self._pump.advance(wait=False)

    @property
    def answered(self) -> bool:
        """Whether a lookup was answered (a cheap test)."""
        return bool(self._pump.answers)

    def answers(self, writer: AdvisoryWriter, *, wait: bool) -> None:
        """Sorts the batches whose lookup is answered (all of them if `wait`), and queues the
        COPY of their new advisories."""
        while self._asked:
            if not self._pump.answers:
                if not wait:
                    return
                self._pump.advance(wait=True, until=lambda: bool(self._pump.answers))
                continue
            answer = self._pump.answers.popleft()
            batch = self._asked.popleft()
            if answer is None:  # the lookup failed: `stop` raises its error
                continue
            stored, drawn = answer
            self._ids.update(drawn)
            writer._store_batch(batch, stored, partial(self._insert, writer))

    def _insert(
        self, writer: AdvisoryWriter, new: list[tuple[feed.Advisory, str]]
    ) -> tuple[list[int], int]:
        ids = [self._ids.pop(record.external_id) for record, _key in new]
        source, payload_id, now = writer.source, self._payload_id, writer.now
        advisories, aliases, affected = (
            statement.formatter(self._formatting) for statement in self._statements
        )
        rows = 0
        for pk, (record, key) in zip(ids, new, strict=True):
            advisories.write_row((pk, source, record.external_id, payload_id, now, now,
                                  *_advisory_values(record, key)))  # fmt: skip
            for alias in dict.fromkeys(record.aliases):
                aliases.write_row((pk, alias[:255]))
            for row in record.affected:
                affected.write_row((pk, *_affected_values(row)))
            rows += len(record.affected)
        data = [
            (statement.sql, formatter.finish_data())
            for statement, formatter in zip(
                self._statements, (advisories, aliases, affected), strict=True
            )
        ]
        self._pump.copy(data)
        return ids, rows

    def stop(self, *, raise_error: bool) -> None:
        """Waits for everything queued and raises the first error (`raise_error`), or (the
        writer failed) only for the statement running, so that the connection is idle for the
        rollback."""
        import psycopg

        try:
            if not raise_error:  # the writer failed: its transaction is rolled back
                self._pump.drop_queued()
            self._pump.finish()
            if raise_error and self._pump.error is None and self._constraints:
                with psycopg.Cursor(self._formatting.connection) as cursor:
                    cursor.execute(f"SET CONSTRAINTS {self._constraints} DEFERRED")
        finally:
            self._formatting.close()
        self._ids.clear()
        if self._pump.error is not None and raise_error:
            raise self._pump.error


def _advisory_values(r: feed.Advisory, key: str) -> tuple[Any, ...]:
    """The values of `_ADVISORY_COLUMNS`, cut to the columns' lengths: for COPY, and (as a
    dict) for the ORM (`_advisory_fields`)."""
    milestones = {name: when.isoformat() for name, when in r.milestones.items()}
    return (r.kind[:16], r.title, r.description, r.severity[:16], r.cvss_vector[:255],
            _score(r.cvss_score), r.published_at, r.modified_at, r.withdrawn_at,
            r.references, milestones, key)  # fmt: skip


def _affected_values(a: feed.Affected) -> tuple[Any, ...]:
    """The values of `_AFFECTED_COLUMNS`, cut to the columns' lengths (see `_advisory_values`)."""
    return (a.package_type[:32], a.namespace[:255], a.distro[:64], a.name[:255], a.vers,
            a.fixed_version[:255], a.fix_available_at, a.status[:24], a.product, a.arch[:32],
            a.module[:255], a.justification[:255])  # fmt: skip


def _children_create(pairs: Sequence[tuple[int, feed.Advisory]]) -> int:
    AdvisoryAlias.objects.bulk_create(
        [
            AdvisoryAlias(advisory_id=pk, alias=alias[:255])
            for pk, record in pairs
            for alias in dict.fromkeys(record.aliases)
        ],
        batch_size=2000,
    )
    affected = [
        AffectedPackage(advisory_id=pk, **_affected_fields(row))
        for pk, record in pairs
        for row in record.affected
    ]
    AffectedPackage.objects.bulk_create(affected, batch_size=2000)
    return len(affected)


def _replace(
    changed: list[tuple[int, feed.Advisory, str]], payload: FeedPayload | None, now: datetime
) -> int:
    pks = [pk for pk, _record, _key in changed]
    AdvisoryAlias.objects.filter(advisory_id__in=pks).delete()
    AffectedPackage.objects.filter(advisory_id__in=pks).delete()
    rows = []
    for pk, record, key in changed:
        row = Advisory(pk=pk, payload=payload, changed_at=now, **_advisory_fields(record, key))
        rows.append(row)
    Advisory.objects.bulk_update(
        rows, [*_ADVISORY_COLUMNS, "payload", "changed_at"], batch_size=500
    )
    return _children_create([(pk, record) for pk, record, _key in changed])


def kev_store(entries: Sequence[feed.KevEntry]) -> StoreCounts:
    """Upsert KEV entries by CVE id (a later catalog's wording replaces an earlier one)."""
    counts = StoreCounts()
    existing = dict(KevEntry.objects.values_list("cve_id", "digest"))
    now = timezone.now()
    for entry in entries:
        key = digest(entry)
        fields = {
            "vendor": entry.vendor[:255],
            "product": entry.product[:255],
            "name": entry.name,
            "description": entry.description,
            "date_added": entry.date_added,
            "due_date": entry.due_date,
            "ransomware": entry.ransomware[:32],
            "required_action": entry.required_action,
            "notes": entry.notes,
            "digest": key,
        }
        if entry.cve_id not in existing:
            KevEntry.objects.create(
                cve_id=entry.cve_id, first_seen_at=now, changed_at=now, **fields
            )
            counts.created += 1
            counts.changed_cves.add(entry.cve_id)
        elif existing[entry.cve_id] == key:
            counts.unchanged += 1
        else:
            KevEntry.objects.filter(cve_id=entry.cve_id).update(changed_at=now, **fields)
            counts.updated += 1
            counts.changed_cves.add(entry.cve_id)
    return counts


def retired_store(packages: Sequence[feed.RetiredPackage]) -> StoreCounts:
    """Upsert retired packages by (type, distribution, name)."""
    counts = StoreCounts()
    existing = {
        (t, d, n): key
        for t, d, n, key in RetiredPackage.objects.values_list(
            "package_type", "distro", "name", "digest"
        )
    }
    now = timezone.now()
    for package in packages:
        natural = (package.package_type, package.distro, package.name)
        key = digest(package)
        fields = {
            "retired_at": package.retired_at,
            "reason": package.reason,
            "reference_url": package.reference_url,
            "kind": package.kind,
            "digest": key,
        }
        if natural not in existing:
            RetiredPackage.objects.create(
                package_type=package.package_type,
                distro=package.distro,
                name=package.name,
                first_seen_at=now,
                changed_at=now,
                **fields,
            )
            counts.created += 1
        elif existing[natural] == key:
            counts.unchanged += 1
        else:
            RetiredPackage.objects.filter(
                package_type=package.package_type, distro=package.distro, name=package.name
            ).update(changed_at=now, **fields)
            counts.updated += 1
    return counts


def retired_advisories(packages: Sequence[feed.RetiredPackage]) -> list[feed.Advisory]:
    """One advisory per retired package, so matching finds the hosts that still carry it:
    every version is affected from the retirement date on, and only removal closes it."""
    records = []
    for package in packages:
        retired_at = datetime.combine(package.retired_at, time(), tzinfo=UTC)
        external_id = f"{package.distro}/{package.package_type}/{package.name}"
        title = f"{package.name} was retired from {package.distro} on {package.retired_at}"
        justification = "retired upstream: remove or migrate"
        if package.kind == "end-of-life":
            external_id = f"eol/{external_id}"
            title = (
                f"{package.distro} reached end of life on {package.retired_at} "
                f"({package.name} marks the release)"
            )
            justification = "end-of-life release: upgrade or migrate"
        records.append(
            feed.Advisory(
                source="retired",
                external_id=external_id,
                title=title,
                description=package.reason,
                kind=package.kind,
                published_at=retired_at,
                modified_at=retired_at,
                references=(package.reference_url,),
                affected=[
                    feed.Affected(
                        package_type=package.package_type,
                        name=package.name,
                        distro=package.distro,
                        status="affected",
                        product=package.distro,
                        justification=justification,
                    )
                ],
            )
        )
    return records


def withdraw(source: str, withdrawn: Sequence[tuple[str, datetime]]) -> int:
    """Mark advisories withdrawn (e.g. a CSAF provider's deletions.csv); never deletes."""
    count = 0
    for external_id, when in withdrawn:
        count += Advisory.objects.filter(
            source=source, external_id=external_id, withdrawn_at__isnull=True
        ).update(withdrawn_at=when, changed_at=timezone.now())
    return count
