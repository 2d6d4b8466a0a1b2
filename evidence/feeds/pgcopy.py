"""PostgreSQL's side of storing advisories (evidence.feeds.store): binary COPY data formatted
in memory, and the statements of an AdvisoryWriter (batch lookups, COPYs) sent on its
transaction's connection without waiting for the server (Pump)."""

from __future__ import annotations

import collections
import select
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evidence.models import Advisory

Stored = tuple[int, str, datetime | None]  # (pk, digest, modified_at) of a stored advisory


READ, WRITE = 1, 2  # what a statement waits for: the server's answer, room to send
Step = Generator[int, None, Any]


class Pump:
    """The lookups and COPYs of an AdvisoryWriter, sent on its transaction's connection
    without waiting for the server: psycopg's connections are in libpq's nonblocking mode, so
    sending a statement or COPY data and reading an answer never block; `advance` takes each
    as far as the server allows, from the thread that parses.

    Requests run one at a time, in order, lookups before the COPYs waiting: the writer formats
    a batch's COPY data only once its lookup is answered, so that a lookup waiting behind COPYs
    would leave the database without the next COPY to run. ("lookup", ids) answers
    (stored, drawn ids) in `answers`; a COPY answers nothing. After an error (kept in `error`:
    the first), lookups are answered None and COPYs dropped.

    Each request is a generator that yields what it waits for (READ, WRITE) and returns its
    answer. No thread waits for the server: a thread of its own needed the GIL back at each of
    its wake-ups (hundreds per batch), taking it from the parser (measured on 20,000 OSV
    records, bench/feeds.py: the thread's 0.12-0.15 s of Python, and the parser yielding
    the GIL at every record so that the thread would not wait for it)."""

    CHUNK = 128 * 1024  # COPY data handed to libpq at a time (as psycopg's own COPY does)
    QUEUED = 4  # batches of COPY data kept waiting at most

    def __init__(self, raw: Any, source: str, sequence: str, *, lookup: bool) -> None:
        from psycopg.adapt import PyFormat, Transformer

        self._raw = raw
        self._pgconn = raw.pgconn
        self._transformer = Transformer(raw)
        self._text = [PyFormat.TEXT] * 3
        self._source = source
        self._sequence = sequence
        self._look_up = lookup  # False: the source has no advisories yet, only ids are drawn
        self._lookups: collections.deque[list[str]] = collections.deque()
        self._copies: collections.deque[list[tuple[str, bytes]]] = collections.deque()
        self._running: Step | None = None
        self._running_lookup = False
        self._waiting_for = READ
        self.answers: collections.deque[tuple[dict[str, Stored], dict[str, int]] | None] = (
            collections.deque()
        )
        self.error: BaseException | None = None

    def lookup(self, ids: list[str]) -> None:
        self._lookups.append(ids)
        self.advance(wait=False)

    def copy(self, data: list[tuple[str, bytes]]) -> None:
        """Queues a COPY; waits for the server while QUEUED batches are waiting already (a
        parser faster than the database waits, rather than piling up COPY data)."""
        self._copies.append(data)
        if len(self._copies) > self.QUEUED:
            self.advance(wait=True, until=lambda: len(self._copies) <= self.QUEUED)
        else:
            self.advance(wait=False)

    def drop_queued(self) -> None:
        """Forgets the requests not started (the one running still runs to its end)."""
        self._lookups.clear()
        self._copies.clear()

    def finish(self) -> None:
        """Runs everything queued to its end, waiting for the server."""
        self.advance(wait=True)
        if self.error is not None:
            self._settle()

    def advance(self, *, wait: bool, until: Callable[[], bool] | None = None) -> None:
        """Moves the requests on as far as the server allows now; with `wait`, waits for it
        until every request is done, or `until()` is true."""
        while until is None or not until():
            if self._running is None and not self._start():
                return
            step = self._running
            if step is None:  # _start set it
                return
            try:
                self._waiting_for = next(step)
            except StopIteration as done:
                self._running = None
                if self._running_lookup:
                    self.answers.append(done.value)
                continue
            except BaseException as exc:  # raised by the writer, in `stop`
                self._running = None
                self._failed(exc, self._running_lookup)
                continue
            if not wait:
                return
            self._wait(self._waiting_for)

    def _start(self) -> bool:
        """Starts the next request; False when there is none."""
        while self._lookups or self._copies:
            is_lookup = bool(self._lookups)
            value: Any = self._lookups.popleft() if is_lookup else self._copies.popleft()
            if self.error is not None:
                if is_lookup:
                    self.answers.append(None)
                continue
            try:
                self._running = self._lookup(value) if is_lookup else self._insert(value)
            except BaseException as exc:
                self._failed(exc, is_lookup)
                continue
            self._running_lookup = is_lookup
            return True
        return False

    def _failed(self, exc: BaseException, lookup: bool) -> None:
        if self.error is None:
            self.error = exc
        if lookup:
            self.answers.append(None)

    def _wait(self, what: int) -> None:
        poll = select.poll()
        poll.register(self._pgconn.socket, select.POLLIN | (select.POLLOUT if what == WRITE else 0))
        poll.poll()

    def _settle(self) -> None:
        """After an error: ends a COPY left open and reads what is left, so that the
        connection is idle again (its transaction failed, or not) for the rollback."""
        import psycopg
        from psycopg import pq

        pgconn = self._pgconn
        if pgconn.transaction_status != pq.TransactionStatus.ACTIVE:
            return
        try:
            while pgconn.put_copy_end(b"the advisory writer stopped") == 0:
                self._wait(WRITE)
        except psycopg.OperationalError:  # not in a COPY: nothing to end
            pass
        while pgconn.flush():
            self._wait(WRITE)
        while True:
            pgconn.consume_input()
            if pgconn.is_busy():
                self._wait(READ)
            elif pgconn.get_result() is None:
                return

    # --- the requests: generators over libpq's nonblocking calls ---------------------------

    def _sent(self) -> Step:
        while self._pgconn.flush():  # 1: some is left to send
            yield WRITE

    def _result(self) -> Step:
        """The next result (None after the statement's last)."""
        pgconn = self._pgconn
        while True:
            pgconn.consume_input()
            if not pgconn.is_busy():
                return pgconn.get_result()
            yield READ

    def _statement_end(self, result: Any, expected: int) -> Step:
        """Reads the statement's end; raises its error if `result` is not `expected`."""
        from psycopg import errors

        while (yield from self._result()) is not None:
            pass
        if result is None or result.status != expected:
            if result is None:
                raise RuntimeError("the server gave no answer to the statement")
            raise errors.error_from_result(result, encoding=self._raw.info.encoding)

    def _lookup(self, ids: list[str]) -> Step:
        """(The stored advisories among `ids`, an id drawn for each of the others)."""
        from psycopg import pq

        if not self._look_up:  # and only this writer adds any until the transaction ends
            sql = "SELECT NULL, NULL, NULL, NULL, nextval($1) FROM generate_series(1, $2::int)"
            params: list[Any] = [self._sequence, len(ids)]
        else:
            table = Advisory._meta.db_table  # a model constant, not input
            sql = (
                "SELECT u.external_id, a.id, a.digest, a.modified_at, "  # noqa: S608
                "CASE WHEN a.id IS NULL THEN nextval($1) END "
                f"FROM unnest($2::text[]) AS u (external_id) LEFT JOIN {table} AS a "
                "ON a.source = $3 AND a.external_id = u.external_id"
            )
            params = [self._sequence, ids, self._source]
        transformer = self._transformer
        values = transformer.dump_sequence(params, self._text[: len(params)])
        self._pgconn.send_query_params(sql.encode(), values, transformer.types, transformer.formats)
        yield from self._sent()
        result = yield from self._result()
        yield from self._statement_end(result, pq.ExecStatus.TUPLES_OK)
        transformer.set_pgresult(result)
        rows = transformer.load_rows(0, result.ntuples, tuple)
        if not self._look_up:
            return {}, dict(zip(ids, (row[4] for row in rows), strict=True))
        stored: dict[str, Stored] = {}
        new: dict[str, int] = {}
        for external_id, pk, key, modified, drawn_id in rows:
            if pk is None:
                new[external_id] = drawn_id
            else:
                stored[external_id] = (pk, key, modified)
        return stored, new

    def _insert(self, data: list[tuple[str, bytes]]) -> Step:
        from psycopg import pq

        pgconn = self._pgconn
        for sql, rows in data:
            pgconn.send_query(sql.encode())
            yield from self._sent()
            result = yield from self._result()
            if result is None or result.status != pq.ExecStatus.COPY_IN:
                yield from self._statement_end(result, pq.ExecStatus.COPY_IN)
            view = memoryview(rows)
            for start in range(0, len(view), self.CHUNK):
                while not pgconn.put_copy_data(view[start : start + self.CHUNK]):
                    yield WRITE
            while not pgconn.put_copy_end(None):
                yield WRITE
            yield from self._sent()
            result = yield from self._result()
            yield from self._statement_end(result, pq.ExecStatus.COMMAND_OK)


@dataclass
class CopyStatement:
    """A binary COPY into `table` of `columns` (`types`: "table.column" -> type oid)."""

    table: str
    columns: tuple[str, ...]
    types: dict[str, int]

    @property
    def sql(self) -> str:
        quoted = ", ".join(f'"{name}"' for name in self.columns)
        return f"COPY {self.table} ({quoted}) FROM STDIN (FORMAT BINARY)"

    def formatter(self, cursor: Any) -> Formatted:
        return Formatted(cursor, [self.types[f"{self.table}.{name}"] for name in self.columns])


class Formatted:
    """Binary COPY data formatted by psycopg into memory (its documented use of a Copy object
    with a writer of one's own, with no statement run)."""

    def __init__(self, cursor: Any, types: list[int]) -> None:
        from psycopg.copy import Copy, Writer

        class Collect(Writer):
            def __init__(self) -> None:
                self.data = bytearray()

            def write(self, data: Any) -> None:
                self.data += data

        self._writer = Collect()
        self._copy = Copy(cursor, binary=True, writer=self._writer)
        self._copy.set_types(types)
        self.write_row = self._copy.write_row

    def finish_data(self) -> bytes:
        self._copy.finish(None)
        return bytes(self._writer.data)
