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
from django.db.models import F
from django.utils import timezone

from evidence.models import Fleet, Host, SbomDocument, SbomStatus
from evidence.sbom import SbomParseError, sbom_parse, sbom_sniff
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
            doc.format = sbom_sniff(data)
        except SbomParseError as exc:
            refusal = (str(exc), 400)

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


def _claim(document_id: int) -> bool:
    """Move the document from queued to processing; False if another worker has it or it is
    done. This conditional UPDATE is what makes the ingest task safe to deliver twice."""
    return (
        SbomDocument.objects.filter(pk=document_id, status=SbomStatus.QUEUED).update(
            status=SbomStatus.PROCESSING,
            status_changed_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
        == 1
    )


def _snapshot_time(created: datetime | None, received: datetime) -> datetime | None:
    if created is None or created > received + _MAX_FUTURE_SKEW:
        return None
    return created


def sbom_ingest(*, document_id: int) -> SbomDocument:
    """Parse a queued document and record the outcome on its row. Idempotent: a document that
    is not `queued` is left as it is and returned."""
    if not _claim(document_id):
        return SbomDocument.objects.get(pk=document_id)
    doc = SbomDocument.objects.select_related("host").get(pk=document_id)
    try:
        with doc.raw.open("rb") as fh:
            data = gzip.decompress(fh.read())
        parsed = sbom_parse(data)
    except SbomParseError as exc:
        with transaction.atomic():
            SbomDocument.objects.filter(pk=doc.pk, status=SbomStatus.PROCESSING).update(
                status=SbomStatus.REJECTED, error=str(exc), status_changed_at=timezone.now()
            )
        doc.refresh_from_db()
        return doc

    now = timezone.now()
    with transaction.atomic():
        updated = SbomDocument.objects.filter(pk=doc.pk, status=SbomStatus.PROCESSING).update(
            status=SbomStatus.INGESTED,
            format=parsed.format,
            spec_version=parsed.spec_version,
            component_count=parsed.component_count,
            document_created_at=_snapshot_time(parsed.created_at, doc.received_at),
            error="\n".join(parsed.warnings),
            ingested_at=now,
            status_changed_at=now,
        )
        if updated and doc.host_id:
            seen = _snapshot_time(parsed.created_at, doc.received_at) or doc.received_at
            host = Host.objects.select_for_update().get(pk=doc.host_id)
            host.first_seen_at = min(filter(None, [host.first_seen_at, seen]))
            host.last_seen_at = max(filter(None, [host.last_seen_at, seen]))
            host.save(update_fields=["first_seen_at", "last_seen_at"])
    doc.refresh_from_db()
    return doc


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
