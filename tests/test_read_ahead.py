"""portal.read_ahead: a query run on a helper thread's own connection gives what the query gives
inline, and runs inline whenever another connection could not see the same rows (issue 7).

On PostgreSQL only (elsewhere read-ahead always runs inline). The tests commit their rows
(`transaction=True`): a helper's connection sees only committed data, which is the point."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from evidence.overview import TREND_MONTHS, _months_back, _quarter_start
from evidence.packets.context import months_between
from evidence.timeline import timeline_overview_begin
from portal.accounts.access import Access
from portal.accounts.models import Organization
from portal.read_ahead import read_ahead_close, read_ahead_rows
from tests.factories import UserFactory
from tests.test_dashboard_queries import packages_and_advisories, world_build

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="read-ahead runs on PostgreSQL only (inline elsewhere)",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _fresh_helpers() -> Iterator[None]:
    read_ahead_close()
    yield
    read_ahead_close()


def _main_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _with_pid(slug_prefix: str = "ra-") -> Any:
    """Each matching organisation's slug with the backend process id that read it."""
    return (
        Organization.objects.filter(slug__startswith=slug_prefix)
        .annotate(pid=RawSQL("pg_backend_pid()", []))
        .order_by("slug")
        .values_list("slug", "pid")
    )


def test_the_rows_are_the_querys_read_on_another_connection() -> None:
    Organization.objects.create(slug="ra-a", name="A")
    Organization.objects.create(slug="ra-b", name="B")
    rows = read_ahead_rows(_with_pid())()
    assert [slug for slug, _pid in rows] == ["ra-a", "ra-b"]
    assert {pid for _slug, pid in rows} != {_main_pid()}


@pytest.mark.parametrize("max_age", [0, 60])
def test_the_helper_keeps_its_connection_as_conn_max_age_says(max_age: int) -> None:
    Organization.objects.create(slug="ra-a", name="A")
    # The settings dict of every thread's connection (the helper's too).
    previous = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = max_age
    try:
        first, second = (read_ahead_rows(_with_pid())()[0][1] for _ in range(2))
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = previous
    assert (first == second) == (max_age > 0)


def test_inside_a_transaction_it_runs_inline_and_sees_the_transactions_rows() -> None:
    with transaction.atomic():
        Organization.objects.create(slug="ra-uncommitted", name="U")
        rows = read_ahead_rows(_with_pid())()
        assert rows == [("ra-uncommitted", _main_pid())]


def test_with_no_idle_helper_it_runs_inline_without_waiting(settings: Any) -> None:
    settings.READ_AHEAD_THREADS = 1
    Organization.objects.create(slug="ra-a", name="A")
    slow = (
        Organization.objects.filter(slug="ra-a")
        .annotate(slept=RawSQL("pg_sleep(1)::text", []))
        .values_list("slug", flat=True)
    )
    busy = read_ahead_rows(slow)  # the only helper (READ_AHEAD_THREADS = 1) sleeps for a second
    started = timezone.now()
    rows = read_ahead_rows(_with_pid())()
    assert rows == [("ra-a", _main_pid())]
    assert (timezone.now() - started).total_seconds() < 0.9
    assert busy() == ["ra-a"]


def test_turned_off_it_runs_inline(settings: Any) -> None:
    settings.READ_AHEAD_THREADS = 0
    Organization.objects.create(slug="ra-a", name="A")
    assert read_ahead_rows(_with_pid())() == [("ra-a", _main_pid())]


def test_the_querys_error_reaches_the_caller_and_the_helper_goes_on() -> None:
    Organization.objects.create(slug="ra-a", name="A")
    failing = Organization.objects.annotate(bad=RawSQL("1 / 0", [])).values_list("bad", flat=True)
    finish = read_ahead_rows(failing)
    with pytest.raises(DatabaseError, match="division by zero"):
        finish()
    rows = read_ahead_rows(_with_pid())()
    assert [slug for slug, _pid in rows] == ["ra-a"] and rows[0][1] != _main_pid()


def test_closing_ends_the_helpers_connections() -> None:
    read_ahead_rows(_with_pid())()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        before = cursor.fetchone()
    read_ahead_close()
    # A connection's end reaches pg_stat_activity a moment after the client closes it.
    for _attempt in range(50):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            after = cursor.fetchone()
        if after is not None and before is not None and after[0] == before[0] - 1:
            break
        threading.Event().wait(0.05)
    assert before is not None and after is not None
    assert after[0] == before[0] - 1


def test_the_overview_counts_the_same_with_and_without_read_ahead(settings: Any) -> None:
    world = world_build("ra", 12, UserFactory.create(), packages_and_advisories())
    now = timezone.now()
    months = months_between(_months_back(now, TREND_MONTHS), now)
    access = Access(organization=world.org, role="officer")

    def figures() -> Any:
        return timeline_overview_begin(
            access, fleet=None, start=_quarter_start(now), end=now, trend=months, now=now
        )()

    ahead = figures()
    settings.READ_AHEAD_THREADS = 0
    inline = figures()
    assert ahead == inline
    assert ahead[0].open_at_end > 0 and any(month.tiers for month in ahead[1])  # not empty
