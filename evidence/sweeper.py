"""The sweeper: work stuck in `queued` or `running` past its task's time limit is queued again.

How work gets stuck: the broker lost the message (Redis restarted without persistence before
a worker took it), or a worker died and its message will only come back after the broker's
visibility timeout. The database is the record of what is owed, so the sweeper works from it:

- a row still waiting (`queued`) after SWEEPER_QUEUED_AFTER_SECONDS gets a new message. If the
  old one was not lost after all, one of the two finds the row claimed and does nothing;
- a row still `running` after its task's hard time limit cannot be running any more (the
  worker would have killed the task), so handing it to a new task cannot run the same work
  twice at once; the claims (`claimed_by`) make a late redelivery of the old message a no-op.

Every re-queue is logged and recorded in the audit log, so a packet that took two attempts
says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from evidence.models import (
    AuditPacket,
    ControlEvaluation,
    EvaluationStatus,
    PacketStatus,
    SbomDocument,
    SbomStatus,
)
from portal.accounts.audit import audit_record

log = logging.getLogger(__name__)

BATCH = 500
MARGIN = timedelta(minutes=3)


@dataclass(frozen=True)
class Stuck:
    """One kind of work: its model, its waiting and working states, and its task."""

    label: str
    model: type[models.Model]
    waiting: str
    working: str
    task_name: str

    def task(self) -> Any:
        import evidence.tasks  # noqa: F401 - registers the tasks (imported late: a cycle)
        from portal.celery import app

        return app.tasks[self.task_name]

    def time_limit(self) -> timedelta:
        from portal.celery import app

        task = self.task()
        return timedelta(seconds=float(task.time_limit or app.conf.task_time_limit or 0))

    def dispatch(self) -> Callable[[int], Any]:
        dispatch: Callable[[int], Any] = self.task().delay
        return dispatch


KINDS = (
    Stuck("sbom", SbomDocument, SbomStatus.QUEUED, SbomStatus.PROCESSING, "evidence.sbom.ingest"),
    Stuck(
        "packet", AuditPacket, PacketStatus.QUEUED, PacketStatus.RUNNING, "evidence.packets.render"
    ),
    Stuck(
        "evaluation",
        ControlEvaluation,
        EvaluationStatus.QUEUED,
        EvaluationStatus.RUNNING,
        "evidence.controls.evaluate",
    ),
)


def _requeue(kind: Stuck, now: datetime) -> list[int]:
    working_cutoff = now - kind.time_limit() - MARGIN
    waiting_cutoff = now - timedelta(seconds=settings.SWEEPER_QUEUED_AFTER_SECONDS)
    manager = kind.model._default_manager
    with transaction.atomic():
        stuck = list(
            manager.select_for_update(skip_locked=True)
            .filter(
                Q(status=kind.waiting, status_changed_at__lt=waiting_cutoff)
                | Q(status=kind.working, status_changed_at__lt=working_cutoff)
            )
            .order_by("pk")
            .values_list("pk", "status", "claimed_by")[:BATCH]
        )
        ids = [pk for pk, _, _ in stuck]
        if not ids:
            return []
        manager.filter(pk__in=ids).update(status=kind.waiting, status_changed_at=now, claimed_by="")
        for pk, status, claimed_by in stuck:
            row: Any = manager.select_related("organization").get(pk=pk)
            audit_record(
                action="work.requeued",
                organization=row.organization,
                target=row,
                data={"kind": kind.label, "was": status, "claimed_by": claimed_by},
            )
            transaction.on_commit(partial(kind.dispatch(), pk))
    log.warning("sweeper: re-queued %d stuck %s task(s): %s", len(ids), kind.label, ids)
    return ids


def work_requeue_stuck(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again every SBOM ingest, packet render and control evaluation stuck past its
    task's hard time limit (plus a margin); returns how many of each."""
    now = now or timezone.now()
    return {kind.label: len(_requeue(kind, now)) for kind in KINDS}
