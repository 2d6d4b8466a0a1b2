"""Storing while parsing (OSV, `parse_stream` + AdvisoryWriter): what is stored is what
parsing everything first and storing it all at once stores, and a document that turns out
unusable part way, after batches of its advisories were written, leaves nothing behind."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from evidence.feeds import osv, pgcopy, store
from evidence.feeds.model import FeedError
from evidence.feeds.sync import feed_sync
from evidence.models import (
    Advisory,
    AdvisoryAlias,
    AffectedPackage,
    FeedPayload,
    FeedRun,
    RunStatus,
)
from tests.feeds.test_sync import osv_record, osv_zip, source

pytestmark = pytest.mark.django_db

JUNE = "2024-06-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 7, so that a few dozen records are written in several batches."""
    monkeypatch.setattr(store, "BATCH", 7)
    monkeypatch.setattr(store, "FIRST_BATCH", 3)


def snapshot() -> list[tuple[Any, ...]]:
    """Every stored advisory with what hangs off it."""
    return [
        (
            advisory.external_id,
            advisory.digest,
            advisory.changed_at,
            advisory.payload_id,
            sorted(AdvisoryAlias.objects.filter(advisory=advisory).values_list("alias", flat=True)),
            sorted(
                AffectedPackage.objects.filter(advisory=advisory).values_list(
                    "name", "vers", "fixed_version"
                )
            ),
        )
        for advisory in Advisory.objects.order_by("external_id")
    ]


def stored_files() -> set[str]:
    found: set[str] = set()
    if default_storage.exists("feeds"):
        for folder in default_storage.listdir("feeds")[0]:
            found.update(default_storage.listdir(f"feeds/{folder}")[1])
    return found


def fail_after(monkeypatch: pytest.MonkeyPatch, count: int, *, only: str = "") -> None:
    """The OSV parser raises FeedError (the document is unusable) at its `count`th record
    (of records whose id starts with `only`), after the ones before were handed over."""
    real = osv._advisory
    seen = {"records": 0}

    def advisory(value: object, limits: Any) -> Any:
        if isinstance(value, dict) and str(value.get("id", "")).startswith(only):
            seen["records"] += 1
            if seen["records"] == count:
                raise FeedError("the archive ends in the middle of a record")
        return real(value, limits)

    monkeypatch.setattr(osv, "_advisory", advisory)


def test_first_sync_in_batches_stores_every_record_once(tmp_path: Path) -> None:
    records = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(40)]
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    threads = threading.active_count()
    run = feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert threading.active_count() == threads  # COPY from the parser's own thread
    assert run.status == RunStatus.OK, run.errors
    assert (run.advisories_created, run.advisories_unchanged, run.affected_packages) == (40, 0, 40)
    assert Advisory.objects.count() == AffectedPackage.objects.count() == 40
    assert AdvisoryAlias.objects.count() == 40
    assert set(Advisory.objects.values_list("payload_id", flat=True)) == {run.payload_id}
    again = feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert (again.advisories_created, again.advisories_unchanged) == (0, 40)


def test_ids_met_twice_keep_the_newest_as_storing_all_at_once_does(tmp_path: Path) -> None:
    osv_source = source("osv")
    stored = [osv_record(f"GHSA-{i}", modified=JUNE, fixed="1.0") for i in range(10)]
    (tmp_path / "first.zip").write_bytes(osv_zip(stored))
    feed_sync(osv_source, path=tmp_path / "first.zip")
    records = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(30)]
    records += [
        # new ids met twice, in other batches: the newer wins, an older one never does
        osv_record("PYSEC-001", modified="2024-07-01T00:00:00Z", fixed="2.0"),
        osv_record("PYSEC-002", modified="2024-05-01T00:00:00Z", fixed="0.5"),
        # a tie: the later record wins
        osv_record("PYSEC-003", modified=JUNE, fixed="3.0"),
        # stored ids: newer replaces, older and equal leave them alone
        osv_record("GHSA-1", modified="2024-08-01T00:00:00Z", fixed="4.0"),
        osv_record("GHSA-2", modified="2024-01-01T00:00:00Z", fixed="0.1"),
        stored[3],
        # a stored id met twice: the newest of the two replaces it
        osv_record("GHSA-4", modified="2024-09-01T00:00:00Z", fixed="5.0"),
        osv_record("GHSA-4", modified="2024-08-01T00:00:00Z", fixed="4.5"),
    ]
    (tmp_path / "records.json").write_text(json.dumps(records))  # one document, an array
    run = feed_sync(osv_source, path=tmp_path / "records.json")
    assert run.status == RunStatus.OK, run.errors
    # 30 new ids; GHSA-1 and GHSA-4 updated; everything else met was unchanged
    assert (run.advisories_created, run.advisories_updated) == (30, 2)
    assert run.advisories_unchanged == len(records) - 32
    fixed = dict(AffectedPackage.objects.values_list("advisory__external_id", "fixed_version"))
    assert fixed["PYSEC-001"] == "2.0" and fixed["PYSEC-002"] == "1.0"
    assert fixed["PYSEC-003"] == "3.0" and fixed["PYSEC-004"] == "1.0"
    assert fixed["GHSA-1"] == "4.0" and fixed["GHSA-2"] == "1.0" and fixed["GHSA-4"] == "5.0"
    assert AffectedPackage.objects.count() == Advisory.objects.count() == 40
    assert run.affected_packages == 32  # the rows of the 32 advisories created or updated


def test_failing_after_batches_were_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    osv_source = source("osv")
    earlier = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(10)]
    (tmp_path / "earlier.zip").write_bytes(osv_zip(earlier))
    assert feed_sync(osv_source, path=tmp_path / "earlier.zip").status == RunStatus.OK
    before, payloads, files = snapshot(), FeedPayload.objects.count(), stored_files()
    records = [osv_record(f"PYSEC-{i:03d}", modified="2024-07-01T00:00:00Z") for i in range(40)]
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    fail_after(monkeypatch, 30)  # 29 records read: batches of them written
    run = feed_sync(osv_source, path=tmp_path / "all.zip")
    assert run.status == RunStatus.FAILED
    assert "ends in the middle" in run.errors[0]["message"]
    assert snapshot() == before
    assert FeedPayload.objects.count() == payloads
    assert stored_files() == files  # the payload file written for the run is gone too
    osv_source.refresh_from_db()
    assert osv_source.consecutive_failures == 1


def test_a_document_failing_part_way_is_a_per_document_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    good = [osv_record(f"GO-2024-{i:03d}", modified=JUNE) for i in range(20)]
    bad = [osv_record(f"RUSTSEC-2024-{i:03d}", modified=JUNE) for i in range(20)]
    (folder / "a-go.zip").write_bytes(osv_zip(good))
    (folder / "b-rust.zip").write_bytes(osv_zip(bad))
    fail_after(monkeypatch, 15, only="RUSTSEC")
    run = feed_sync(source("osv"), path=folder)
    assert run.status == RunStatus.PARTIAL
    assert run.errors[0]["location"] == "b-rust.zip" and run.records_failed == 1
    assert run.advisories_created == 20
    assert sorted(Advisory.objects.values_list("external_id", flat=True)) == [
        f"GO-2024-{i:03d}" for i in range(20)
    ]
    assert FeedPayload.objects.count() == 1 and len(stored_files()) == 1


def test_a_document_of_another_kind_fails_and_changes_nothing(tmp_path: Path) -> None:
    osv_source = source("osv")
    earlier = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(10)]
    (tmp_path / "earlier.zip").write_bytes(osv_zip(earlier))
    feed_sync(osv_source, path=tmp_path / "earlier.zip")
    before, files = snapshot(), stored_files()
    csaf = {"document": {"csaf_version": "2.0", "title": "x"}, "vulnerabilities": []}
    (tmp_path / "csaf.json").write_text(json.dumps(csaf))
    run = feed_sync(osv_source, path=tmp_path / "csaf.json")
    assert run.status == RunStatus.FAILED
    assert "CSAF" in run.errors[0]["message"]
    assert snapshot() == before and stored_files() == files


def test_bad_records_among_batches_make_the_run_partial(tmp_path: Path) -> None:
    records: list[dict[str, Any]] = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(40)]
    for number in (3, 17, 33):
        records[number] = {"id": f"PYSEC-{number:03d}", "affected": "not a list"}
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    run = feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert run.status == RunStatus.PARTIAL
    assert (run.advisories_created, run.records_failed) == (37, 3)
    assert Advisory.objects.count() == 37
    assert not Advisory.objects.filter(external_id__in=["PYSEC-003", "PYSEC-017"]).exists()


def test_a_database_error_while_writing_fails_the_run_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the COPY writer is PostgreSQL's")
    before = snapshot()

    def broken(self: Any, data: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(pgcopy.Pump, "_insert", broken)
    records = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(20)]
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    threads = threading.active_count()
    with pytest.raises(RuntimeError, match="went away"):
        feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert threading.active_count() == threads
    run = FeedRun.objects.get()
    assert run.status == RunStatus.FAILED and "went away" in run.errors[0]["message"]
    assert snapshot() == before and not stored_files()


def test_a_database_error_in_a_lookup_fails_the_run_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the COPY writer is PostgreSQL's")
    real = pgcopy.Pump._lookup
    calls = {"lookups": 0}

    def lookup(self: Any, ids: list[str]) -> Any:
        calls["lookups"] += 1
        if calls["lookups"] == 3:  # batches were written before
            raise RuntimeError("the lookup failed")
        return real(self, ids)

    monkeypatch.setattr(pgcopy.Pump, "_lookup", lookup)
    records = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(40)]
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    with pytest.raises(RuntimeError, match="lookup failed"):
        feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert FeedRun.objects.get().status == RunStatus.FAILED
    assert not Advisory.objects.exists() and not stored_files()


def test_advisories_store_counts_an_id_met_again_once() -> None:
    from evidence.feeds.model import Advisory as Record

    records = [Record(source="osv", external_id=f"X-{i}", title="t") for i in range(20)]
    counts = store.advisories_store("osv", records, payload=None)
    assert (counts.created, counts.unchanged) == (20, 0)
    counts = store.advisories_store("osv", [*records, records[0]], payload=None)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 21)


def test_a_parser_ahead_of_the_database_waits_and_stores_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no COPY batch allowed to wait, every batch waits for the one before it."""
    monkeypatch.setattr(pgcopy.Pump, "QUEUED", 0)
    records = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(40)]
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    run = feed_sync(source("osv"), path=tmp_path / "all.zip")
    assert (run.status, run.advisories_created) == (RunStatus.OK, 40)
    assert AffectedPackage.objects.count() == AdvisoryAlias.objects.count() == 40


def test_a_copy_the_database_refuses_fails_the_run_and_leaves_the_connection_usable(
    tmp_path: Path,
) -> None:
    """A COPY refused by the server part way (a trigger raising on one advisory of a later
    batch): the run fails with the server's message, nothing of it is stored, and the
    connection serves the next queries."""
    if connection.vendor != "postgresql":
        pytest.skip("the COPY writer is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger AS $$ BEGIN "
            "IF NEW.external_id = 'PYSEC-031' THEN RAISE EXCEPTION 'refused by the test'; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON evidence_advisory "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
        )
    before = snapshot()
    records = [osv_record(f"PYSEC-{i:03d}", modified=JUNE) for i in range(40)]
    (tmp_path / "all.zip").write_bytes(osv_zip(records))
    with pytest.raises(Exception, match="refused by the test"):
        feed_sync(source("osv"), path=tmp_path / "all.zip")
    run = FeedRun.objects.get()
    assert run.status == RunStatus.FAILED and "refused by the test" in run.errors[0]["message"]
    assert snapshot() == before and not stored_files()
