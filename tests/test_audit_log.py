"""The append-only, hash-chained audit log."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from portal.accounts.audit import audit_record, audit_verify
from portal.accounts.models import AuditEvent
from tests.factories import OrganizationFactory, UserFactory


@pytest.fixture
def chain(db: None) -> list[AuditEvent]:
    org = OrganizationFactory.create()
    user = UserFactory.create()
    return [
        audit_record(action=f"test.event{i}", actor=user, organization=org, data={"i": i})
        for i in range(5)
    ]


@pytest.fixture
def attacker_with_database_access(chain: list[AuditEvent]) -> Iterator[None]:
    """Switch off the append-only trigger, as someone with direct database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER accounts_auditevent_no_update")
    yield


def verify_json() -> dict:
    from io import StringIO

    out = StringIO()
    with contextlib.suppress(CommandError):
        call_command("verify_audit_log", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_intact_chain_verifies(chain: list[AuditEvent]) -> None:
    call_command("verify_audit_log")  # does not raise
    assert verify_json() == {"ok": True, "events": 5, "problems": []}


def test_each_event_hash_covers_the_previous_one(chain: list[AuditEvent]) -> None:
    assert chain[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash


def test_database_refuses_update_and_delete(chain: list[AuditEvent]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[2].pk).update(action="edited")
    if connection.vendor == "postgresql":  # SQLite (development) refuses UPDATE only
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=chain[2].pk).delete()
    assert audit_verify().ok


def test_edited_event_is_detected(attacker_with_database_access: None, chain) -> None:
    AuditEvent.objects.filter(pk=chain[2].pk).update(data={"i": 99})

    with pytest.raises(CommandError, match="audit log broken"):
        call_command("verify_audit_log")
    report = verify_json()
    assert not report["ok"]
    assert any("event #3" in p and "edited" in p for p in report["problems"])


def test_edit_with_recomputed_hash_is_detected(attacker_with_database_access: None, chain) -> None:
    """Re-hashing the edited row does not help: the next row no longer points at it."""
    from portal.accounts.audit import event_hash

    event = AuditEvent.objects.get(pk=chain[2].pk)
    event.actor_label = "someone-else"
    event.hash = event_hash(prev_hash=event.prev_hash, event=event)
    event.save()

    problems = audit_verify().problems
    assert any("event #4: previous hash" in p for p in problems)


def test_deleted_event_is_detected(attacker_with_database_access: None, chain) -> None:
    AuditEvent.objects.filter(pk=chain[1].pk).delete()

    problems = audit_verify().problems
    assert any("#2" in p and "missing" in p for p in problems)


def test_deleted_last_event_is_detected(attacker_with_database_access: None, chain) -> None:
    AuditEvent.objects.filter(pk=chain[-1].pk).delete()

    problems = audit_verify().problems
    assert any("chain head" in p for p in problems)
