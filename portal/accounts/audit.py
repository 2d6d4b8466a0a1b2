"""The hash-chained audit log: appending an event and verifying the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import AuditChainHead, AuditEvent, Organization

GENESIS_HASH = "0" * 64


def _canonical(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "organization_id": event.organization_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "data": event.data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(*, prev_hash: str, event: AuditEvent) -> str:
    """sha256(previous hash + canonical JSON of the event), as hex."""
    return hashlib.sha256((prev_hash + _canonical(event)).encode("utf-8")).hexdigest()


def audit_record(
    *,
    action: str,
    actor: Any = None,
    actor_label: str = "",
    organization: Organization | None = None,
    target: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Locks the chain head, so appends are serialised.

    `actor` is a user or None (system); `target` any model instance. `data` must be JSON-able.
    """
    label = actor_label or (getattr(actor, "get_username", lambda: "")() if actor else "system")
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            seq=head.seq + 1,
            occurred_at=timezone.now().replace(microsecond=0),
            actor_id=getattr(actor, "pk", None),
            actor_label=label,
            organization_id=organization.pk if organization else None,
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            data=json.loads(json.dumps(data or {}, default=str)),
            prev_hash=head.hash,
        )
        event.hash = event_hash(prev_hash=head.hash, event=event)
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: `problems` is empty when it is intact."""

    events: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify(*, until: datetime | None = None) -> ChainReport:
    """Recompute every hash in sequence order and compare with the stored chain and head.

    With `until`, only the chain's prefix of events that occurred by then is checked (the log
    as it was at that moment; the head is not compared, the log has grown since)."""
    problems: list[str] = []
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    events = AuditEvent.objects.order_by("seq")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    for event in events.iterator(chunk_size=2000):
        count += 1
        if event.seq != expected_seq:
            problems.append(f"event #{expected_seq} to #{event.seq - 1} missing (deleted?)")
        if event.prev_hash != prev_hash:
            problems.append(f"event #{event.seq}: previous hash does not match event before it")
        if event_hash(prev_hash=event.prev_hash, event=event) != event.hash:
            problems.append(f"event #{event.seq}: content does not match its hash (edited?)")
        prev_hash = event.hash
        expected_seq = event.seq + 1
    if until is not None:
        return ChainReport(events=count, problems=problems)
    head = AuditChainHead.objects.filter(id=1).first()
    head_seq = head.seq if head else 0
    head_hash = head.hash if head else GENESIS_HASH
    if head_seq != expected_seq - 1 or head_hash != prev_hash:
        problems.append(
            f"chain head says #{head_seq} but the log ends at #{expected_seq - 1} "
            "(last events deleted?)"
        )
    return ChainReport(events=count, problems=problems)
