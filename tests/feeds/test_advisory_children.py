"""An advisory's aliases and affected rows name it through triggers (migration 0020), not
foreign key constraints: what the constraints guaranteed still holds. A row cannot name a
missing advisory, however it is written (the ORM, SQL, COPY); deleting advisories deletes their
rows, even when they were committed by another transaction while the delete waited; an
advisory's id never changes."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from evidence.models import Advisory, AdvisoryAlias, AffectedPackage
from tests.conftest import database_url

pytestmark = pytest.mark.django_db


def advisory(external_id: str = "OSV-1") -> Advisory:
    made = Advisory.objects.create(source="osv", external_id=external_id, digest="d")
    AdvisoryAlias.objects.create(advisory=made, alias="CVE-2026-0001")
    AffectedPackage.objects.create(advisory=made, package_type="pypi", name="demo", vers="")
    return made


def missing_id() -> int:
    return (Advisory.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def test_a_row_cannot_name_a_missing_advisory() -> None:
    missing = missing_id()
    with pytest.raises(IntegrityError), transaction.atomic():
        AffectedPackage.objects.create(advisory_id=missing, package_type="rpm", name="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        AdvisoryAlias.objects.create(advisory_id=missing, alias="CVE-2026-9999")
    kept = advisory()
    # One statement of several rows, one of them dangling: the whole statement is refused.
    rows = [
        AdvisoryAlias(advisory=kept, alias="CVE-2026-0002"),
        AdvisoryAlias(advisory_id=missing, alias="CVE-2026-0003"),
    ]
    with (
        pytest.raises(IntegrityError, match=r"does not exist|no such advisory"),
        transaction.atomic(),
    ):
        AdvisoryAlias.objects.bulk_create(rows)
    assert list(kept.aliases.values_list("alias", flat=True)) == ["CVE-2026-0001"]


def test_moving_a_row_to_a_missing_advisory_is_refused() -> None:
    kept = advisory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AffectedPackage.objects.filter(advisory=kept).update(advisory_id=missing_id())
    assert kept.affected.count() == 1


def test_deleting_advisories_deletes_their_rows_however_it_is_done() -> None:
    by_orm, by_sql, other = advisory("OSV-1"), advisory("OSV-2"), advisory("OSV-3")
    by_orm.delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM evidence_advisory WHERE id = %s", [by_sql.pk])
    assert set(AdvisoryAlias.objects.values_list("advisory_id", flat=True)) == {other.pk}
    assert set(AffectedPackage.objects.values_list("advisory_id", flat=True)) == {other.pk}


def test_an_advisory_id_never_changes() -> None:
    kept = advisory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Advisory.objects.filter(pk=kept.pk).update(id=missing_id())
    assert Advisory.objects.filter(pk=kept.pk).exists()


def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the statement-level triggers are PostgreSQL's")


@pytest.mark.django_db(transaction=True)
def test_truncating_the_advisories_empties_their_rows() -> None:
    postgresql_only()
    advisory()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE evidence_advisory CASCADE")
    assert not AdvisoryAlias.objects.exists() and not AffectedPackage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_delete_outside_read_committed_is_refused() -> None:
    """Its cascade could not see rows another transaction committed meanwhile."""
    postgresql_only()
    kept = advisory()
    with psycopg.connect(database_url()) as other:
        other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.Error, match="READ COMMITTED"):
            other.execute("DELETE FROM evidence_advisory WHERE id = %s", [kept.pk])
    assert Advisory.objects.filter(pk=kept.pk).exists()
    assert kept.aliases.count() == kept.affected.count() == 1


@pytest.mark.django_db(transaction=True)
def test_rows_committed_while_a_delete_waits_go_with_the_advisory() -> None:
    """One transaction writes a row naming an advisory (and so locks it, as a foreign key
    check would) while another deletes the advisory: the delete waits for the first to commit,
    then takes its row too. No row is left naming nothing."""
    postgresql_only()
    kept = advisory()
    writer = psycopg.connect(database_url())
    deleter = psycopg.connect(database_url(), autocommit=True)
    outcome: dict[str, Any] = {}
    try:
        writer.execute(
            "INSERT INTO evidence_advisoryalias (advisory_id, alias) VALUES (%s, 'CVE-2026-7777')",
            [kept.pk],
        )

        def delete() -> None:
            started = time.monotonic()
            deleter.execute("DELETE FROM evidence_advisory WHERE id = %s", [kept.pk])
            outcome["waited"] = time.monotonic() - started

        thread = threading.Thread(target=delete)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waiting for the writer's lock
        writer.commit()
        thread.join(10)
        assert not thread.is_alive() and outcome["waited"] >= 0.4
    finally:
        writer.close()
        deleter.close()
    assert not Advisory.objects.filter(pk=kept.pk).exists()
    assert not AdvisoryAlias.objects.filter(advisory_id=kept.pk).exists()
    assert not AffectedPackage.objects.filter(advisory_id=kept.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_row_written_after_a_concurrent_delete_is_refused() -> None:
    """The other order: the advisory's delete is not committed yet when a row naming it is
    written; the write waits for the delete, then fails (the advisory is gone)."""
    postgresql_only()
    kept = advisory()
    deleter = psycopg.connect(database_url())
    writer = psycopg.connect(database_url(), autocommit=True)
    outcome: dict[str, Any] = {}
    try:
        deleter.execute("DELETE FROM evidence_advisory WHERE id = %s", [kept.pk])

        def write() -> None:
            try:
                writer.execute(
                    "INSERT INTO evidence_affectedpackage (advisory_id, package_type, "
                    "namespace, distro, name, vers, fixed_version, status, product, arch, "
                    "module, justification) VALUES (%s, 'rpm', '', '', 'late', '', '', "
                    "'affected', '', '', '', '')",
                    [kept.pk],
                )
            except psycopg.errors.ForeignKeyViolation as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waiting for the delete to end
        deleter.commit()
        thread.join(10)
        assert not thread.is_alive()
    finally:
        writer.close()
        deleter.close()
    assert "does not exist" in str(outcome.get("error"))
    assert not AffectedPackage.objects.filter(advisory_id=kept.pk).exists()
