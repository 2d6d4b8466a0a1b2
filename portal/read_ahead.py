"""Read-ahead: reads run on connections of their own while the request goes on.

The organisation overview's largest query (the window counts of evidence.timeline_counts, a
scan of the organisation's exposures) keeps PostgreSQL busy for tens of milliseconds, and its
fix percentiles and upstream lag for about ten more each, during which the request's thread
could run its other queries and its Python. `read_ahead(work)` runs a function that reads the
database on a helper thread, with that thread's own database connection, and returns a
function that waits for its result (`read_ahead_rows(queryset)`: the same list
`list(queryset)` gives).

It runs the work inline instead, with the same result, when:
- the database is not PostgreSQL (SQLite serialises connections anyway);
- the caller is inside a transaction (`atomic`): another connection would neither see what the
  transaction wrote nor read from its snapshot;
- no helper is idle (`READ_AHEAD_THREADS` of them, 0 to turn read-ahead off): a request never
  waits for another request's read-ahead.

Each helper thread keeps its connection between queries and retires it as Django retires a
request thread's (`CONN_MAX_AGE`, `CONN_HEALTH_CHECKS`), so a process holds at most
`READ_AHEAD_THREADS` connections more. The overview's queries run in autocommit, each in a
snapshot of its own, so running one of them on another connection weakens no guarantee.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

T = TypeVar("T")

_lock = threading.Lock()
# (process id, helper count, executor, idle helpers): made on first use in each process, so
# that a forked worker (gunicorn, Celery prefork) never inherits its parent's threads.
_helpers: tuple[int, int, ThreadPoolExecutor, threading.BoundedSemaphore] | None = None


def _idle_helper() -> tuple[ThreadPoolExecutor, threading.BoundedSemaphore] | None:
    """The executor and its semaphore with one idle helper taken, or None (run inline)."""
    global _helpers
    count = settings.READ_AHEAD_THREADS
    if count <= 0:
        return None
    with _lock:
        if _helpers is None or _helpers[0] != os.getpid():
            executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="read-ahead")
            _helpers = (os.getpid(), count, executor, threading.BoundedSemaphore(count))
        _pid, _count, executor, idle = _helpers
    if not idle.acquire(blocking=False):
        return None
    return executor, idle


def read_ahead(work: Callable[[], T], *, using: str = DEFAULT_DB_ALIAS) -> Callable[[], T]:
    """Start `work` (a function that reads the database `using`, and touches nothing the
    caller's thread goes on using); the function returned waits for and returns its result (or
    raises its error). See the module docstring for when it runs inline, now."""
    connection = connections[using]
    helper = None
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        helper = _idle_helper()
    if helper is None:
        result = work()
        return lambda: result
    executor, idle = helper
    try:
        future = executor.submit(_run, work, using, idle)
    except RuntimeError:  # shut down meanwhile (read_ahead_close)
        idle.release()
        result = work()
        return lambda: result
    return future.result


def read_ahead_rows(queryset: QuerySet[Any, T]) -> Callable[[], list[T]]:
    """`read_ahead` of `list(queryset)`."""
    return read_ahead(partial(list, queryset.all()), using=queryset.db)


def _run(work: Callable[[], T], using: str, idle: threading.BoundedSemaphore) -> T:
    """In a helper thread: `work`, on this thread's connection."""
    try:
        connections[using].close_if_unusable_or_obsolete()
        return work()
    finally:
        idle.release()


def read_ahead_close() -> None:
    """Close every helper's connections and stop the helpers (the next read-ahead starts new
    ones): before the database goes away, as the test run's does."""
    global _helpers
    with _lock:
        helpers, _helpers = _helpers, None
    if helpers is None or helpers[0] != os.getpid():
        return
    _pid, count, executor, _idle = helpers
    # One job per helper thread: each waits at the barrier until all have one, so every
    # thread closes its own connections (a connection may only be closed by its thread).
    barrier = threading.Barrier(count)

    def close() -> None:
        try:
            barrier.wait(timeout=10)
        finally:
            connections.close_all()

    for future in [executor.submit(close) for _ in range(count)]:
        future.result()
    executor.shutdown(wait=True)
