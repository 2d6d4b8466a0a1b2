"""SBOM intake: receiving a raw document, and ingesting it (the part a worker runs)."""

from __future__ import annotations

import gzip
import hashlib
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from evidence.ledger import snapshot_apply, snapshot_time_unique
from evidence.models import Fleet, Host, SbomDocument, SbomStatus
from evidence.sbom import sbom_parse, sbom_sniff
from evidence.sbom.jsondoc import gc_paused
from evidence.sbom.model import Limits, SbomParseError
from portal.accounts.audit import audit_record
from portal.accounts.models import ApiToken, Organization

log = logging.getLogger(__name__)

# A document's own creation time is used as the snapshot time only if it is plausible.
_MAX_FUTURE_SKEW = timedelta(hours=1)


class UploadRefused(Exception):
    """The upload was recorded as rejected; `document` holds the row and `status_code` the
    HTTP status the caller should answer with."""

    def __init__(self, document: SbomDocument, status_code: int) -> None:
        self.document = document
        self.status_code = status_code
        super().__init__(document.error)


def sbom_limits() -> Limits:
    """The parser limits, from settings (see README, "Limits")."""
    return Limits(
        max_bytes=settings.SBOM_MAX_BYTES,
        max_decompressed_bytes=settings.SBOM_MAX_DECOMPRESSED_BYTES,
        max_depth=settings.SBOM_MAX_DEPTH,
        max_components=settings.SBOM_MAX_COMPONENTS,
        max_string=settings.SBOM_MAX_STRING,
    )


def host_resolve(*, fleet: Fleet, hostname: str) -> Host:
    """The host `hostname` of `fleet`, created on first sight. Idempotent."""
    host, _ = Host.objects.get_or_create(fleet=fleet, hostname=hostname.strip().lower())
    return host


def _size_message(size: int) -> str:
    limit = settings.SBOM_MAX_BYTES
    return (
        f"the document is {size:,} bytes; the limit is {limit:,} bytes "
        "(SBOM_MAX_BYTES). Split it or compress unused detail out of it."
    )


def sbom_receive(
    *,
    organization: Organization,
    data: bytes | None,
    size: int,
    filename: str = "",
    content_type: str = "",
    fleet: Fleet | None = None,
    host: Host | None = None,
    submitted_by: Any = None,
    submitted_token: ApiToken | None = None,
    dispatch: bool = True,
) -> SbomDocument:
    """Store an uploaded SBOM and queue its ingest once the transaction commits.

    `data` is None when the body was not read because `size` is over the limit. Empty,
    over-size and non-JSON documents are stored as `rejected` with the reason, and
    `UploadRefused` is raised after the row is committed. A document already received for the
    same organisation and host is stored as `duplicate` of the first one and not re-ingested.
    """
    if host is not None and fleet is None:
        fleet = host.fleet
    doc = SbomDocument(
        organization=organization,
        fleet=fleet,
        host=host,
        filename=filename[:255],
        content_type=content_type[:100],
        size=size,
        submitted_by=submitted_by if getattr(submitted_by, "pk", None) else None,
        submitted_token=submitted_token,
    )
    refusal: tuple[str, int] | None = None
    if data is None or size > settings.SBOM_MAX_BYTES:
        refusal = (_size_message(size), 413)
        data = None
    elif not data.strip():
        refusal = ("the document is empty (0 bytes of content)", 400)
        data = None
    else:
        doc.sha256 = hashlib.sha256(data).hexdigest()
        try:
            detected = sbom_sniff(data, limits=sbom_limits())
        except SbomParseError as exc:
            refusal = (str(exc), 400)
        else:
            doc.format, doc.encoding = detected.format, detected.encoding

    with transaction.atomic():
        if refusal is None:
            original = (
                SbomDocument.objects.filter(
                    organization=organization,
                    host=host,
                    fleet=fleet,
                    sha256=doc.sha256,
                    status__in=[SbomStatus.QUEUED, SbomStatus.PROCESSING, SbomStatus.INGESTED],
                )
                .order_by("pk")
                .first()
            )
            if original is not None:
                doc.status = SbomStatus.DUPLICATE
                doc.duplicate_of = original
                doc.component_count = original.component_count
                doc.error = f"identical to SBOM {original.pk}, received {original.received_at:%c}"
        else:
            doc.status = SbomStatus.REJECTED
            doc.error = refusal[0]
        if data is not None and doc.status != SbomStatus.DUPLICATE:
            doc.raw.save("raw.gz", ContentFile(gzip.compress(data, compresslevel=6)), save=False)
        doc.save()
        audit_record(
            action="sbom.received",
            actor=submitted_by,
            actor_label=f"token:{submitted_token.prefix}" if submitted_token else "",
            organization=organization,
            target=doc,
            data={"sha256": doc.sha256, "size": size, "status": doc.status},
        )
        if dispatch and doc.status == SbomStatus.QUEUED:
            from evidence.tasks import ingest_sbom

            transaction.on_commit(partial(ingest_sbom.delay, doc.pk))
    if refusal is not None:
        raise UploadRefused(doc, refusal[1])
    return doc


def _claim(document_id: int, task_id: str | None) -> bool:
    """Move the document from queued to processing; False if another worker has it or it is
    done. This conditional UPDATE is what makes the ingest task safe to deliver twice.

    A document left `processing` by the same task id is claimed again: that is the broker
    redelivering the message of a worker that died mid-ingest (acks_late), whose transaction
    rolled back, so nothing of that attempt is stored."""
    claimable = Q(status=SbomStatus.QUEUED)
    if task_id:
        claimable |= Q(status=SbomStatus.PROCESSING, claimed_by=task_id)
    return (
        SbomDocument.objects.filter(claimable, pk=document_id).update(
            status=SbomStatus.PROCESSING,
            status_changed_at=timezone.now(),
            attempts=F("attempts") + 1,
            claimed_by=task_id or "",
        )
        == 1
    )


def _plausible(created: datetime | None, received: datetime) -> datetime | None:
    """The document's own creation time, unless it lies in the future of its receipt."""
    if created is None or created > received + _MAX_FUTURE_SKEW:
        return None
    return created


def _reject(document_id: int, message: str) -> None:
    SbomDocument.objects.filter(pk=document_id, status=SbomStatus.PROCESSING).update(
        status=SbomStatus.REJECTED, error=message, status_changed_at=timezone.now()
    )


def sbom_ingest(*, document_id: int, task_id: str | None = None) -> SbomDocument:
    """Parse a queued document, apply it to its host's ledger and record the outcome.

    Idempotent: a document that is not `queued` is returned as it is. Everything it writes
    (packages, ledger intervals, the document's status) is one transaction, taken with the
    host row locked, so a rejected or interrupted ingest leaves no trace but its status.
    """
    if not _claim(document_id, task_id):
        return SbomDocument.objects.get(pk=document_id)
    doc = SbomDocument.objects.get(pk=document_id)
    try:
        with doc.raw.open("rb") as fh:
            data = gzip.decompress(fh.read())
        parsed = sbom_parse(data, limits=sbom_limits(), hint=doc.content_type)
        del data  # the raw text can be tens of MB; the components are all that is needed now
    except SbomParseError as exc:
        _reject(doc.pk, str(exc))
        doc.refresh_from_db()
        return doc

    created = _plausible(parsed.created_at, doc.received_at)
    warnings = list(parsed.warnings)
    if parsed.created_at is not None and created is None:
        warnings.append(
            f"the document's creation time {parsed.created_at.isoformat()} is in the future; "
            "the time it was received is used instead"
        )
    # The ledger work creates tens of thousands of short-lived, acyclic tuples; left on, the
    # cyclic collector would walk every live object (the parsed components among them)
    # again and again.
    with gc_paused(), transaction.atomic():
        change = None
        snapshot = None
        if doc.host_id:
            host = Host.objects.select_for_update().get(pk=doc.host_id)
            snapshot = snapshot_time_unique(
                host=host, wanted=created or doc.received_at, document_id=doc.pk
            )
            change = snapshot_apply(
                host=host, document=doc, taken_at=snapshot, components=parsed.components
            )
            host.first_seen_at = min(filter(None, [host.first_seen_at, snapshot]))
            host.last_seen_at = max(filter(None, [host.last_seen_at, snapshot]))
            host.save(update_fields=["first_seen_at", "last_seen_at"])
        now = timezone.now()
        updated = SbomDocument.objects.filter(pk=doc.pk, status=SbomStatus.PROCESSING).update(
            status=SbomStatus.INGESTED,
            format=parsed.format,
            encoding=parsed.encoding,
            spec_version=parsed.spec_version,
            component_count=parsed.component_count,
            warnings=warnings,
            schema_valid=parsed.schema_valid,
            ntia=parsed.ntia,
            ntia_completeness=round(parsed.ntia_completeness, 4),
            document_created_at=created,
            snapshot_at=snapshot,
            packages_added=change.added if change else None,
            packages_removed=change.removed if change else None,
            error="",
            ingested_at=now,
            status_changed_at=now,
        )
        if not updated:
            # Taken from us meanwhile (the sweeper re-queued it): undo our ledger changes.
            transaction.set_rollback(True)
        elif change is not None:
            _match_after_commit(doc.pk)
    doc.refresh_from_db()
    return doc


def _match_after_commit(document_id: int) -> None:
    """Once the snapshot is committed, recompute the exposures of the names it changed."""
    from evidence.tasks import exposures_for_snapshot_task

    transaction.on_commit(lambda: exposures_for_snapshot_task.delay(document_id))


def sbom_requeue_stuck(*, older_than: timedelta) -> list[int]:
    """Put documents back in the queue that have been `queued` or `processing` for longer than
    `older_than` (a lost message, a killed worker). Returns their ids; re-dispatches them."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        ids = list(
            SbomDocument.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[SbomStatus.QUEUED, SbomStatus.PROCESSING],
                status_changed_at__lt=cutoff,
            )
            .values_list("pk", flat=True)[:500]
        )
        SbomDocument.objects.filter(pk__in=ids).update(
            status=SbomStatus.QUEUED, status_changed_at=timezone.now()
        )
        from evidence.tasks import ingest_sbom

        for pk in ids:
            transaction.on_commit(partial(ingest_sbom.delay, pk))
    if ids:
        log.warning("re-queued %d stuck SBOM ingests: %s", len(ids), ids)
    return ids
