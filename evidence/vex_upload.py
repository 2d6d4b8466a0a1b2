"""Receiving an organisation's VEX document: keep it, read its statements, and recompute the
exposures it speaks about. A document that cannot be read is kept as `rejected` with the
reason, and changes nothing else."""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction

from evidence.models import Fleet, VexStatement, VexUpload
from evidence.sbom.purls import purl_parse
from evidence.vex import VexError, vex_parse
from portal.accounts.audit import audit_record
from portal.accounts.models import Organization

MAX_BYTES = 20 * 1024 * 1024


def _package(purl: str) -> tuple[str, str, str] | None:
    """(type, name, version) of a purl; None when it is not one."""
    try:
        parsed = purl_parse(purl)
    except ValueError:
        return None
    return parsed.type, parsed.name, parsed.version


@transaction.atomic
def vex_receive(
    *,
    organization: Organization,
    data: bytes,
    filename: str = "",
    fleet: Fleet | None = None,
    uploaded_by: Any = None,
) -> VexUpload:
    """Store and read one VEX document for `organization` (optionally one fleet)."""
    sha256 = hashlib.sha256(data).hexdigest()
    person = uploaded_by if getattr(uploaded_by, "is_authenticated", False) else None
    upload = VexUpload(
        organization=organization,
        fleet=fleet,
        filename=filename[:255],
        sha256=sha256,
        size=len(data),
        uploaded_by=person,
    )
    if len(data) <= MAX_BYTES:
        upload.raw.save(f"{sha256}.gz", ContentFile(gzip.compress(data, 6)), save=False)
    try:
        document = vex_parse(data, max_bytes=MAX_BYTES)
    except VexError as exc:
        upload.status = "rejected"
        upload.error = str(exc)[:5000]
        upload.save()
        return upload
    upload.format = document.format
    upload.document_id = document.document_id[:500]
    upload.author = document.author[:500]
    warnings = list(document.warnings)
    rows: list[VexStatement] = []
    for statement in document.statements:
        packages = [p for p in map(_package, statement.products) if p is not None]
        if not packages:
            warnings.append(
                f"{statement.vulnerability}: names no package by purl "
                f"({', '.join(statement.product_ids[:3]) or 'no product'}); it cannot be matched"
            )
            continue
        for ptype, name, version in packages:
            rows.append(
                VexStatement(
                    organization=organization,
                    fleet=fleet,
                    vulnerability=statement.vulnerability[:255],
                    aliases=list(statement.aliases),
                    status=statement.status,
                    justification=statement.justification[:255],
                    impact_statement=statement.impact_statement,
                    purl=statements_purl(ptype, name, version),
                    package_type=ptype,
                    package_name=name[:255],
                    package_version=version[:255],
                    stated_at=statement.timestamp,
                )
            )
    upload.warnings = warnings[:200]
    upload.save()
    for row in rows:
        row.upload = upload
    VexStatement.objects.bulk_create(rows, batch_size=1000)
    audit_record(
        action="vex.uploaded",
        actor=person,
        organization=organization,
        target=upload,
        data={"sha256": sha256, "statements": len(rows), "format": document.format},
    )
    organization_id = organization.pk
    transaction.on_commit(lambda: _recompute(organization_id))
    return upload


def statements_purl(ptype: str, name: str, version: str) -> str:
    return f"pkg:{ptype}/{name}" + (f"@{version}" if version else "")


def _recompute(organization_id: int) -> None:
    from evidence.tasks import exposures_recompute_task

    exposures_recompute_task.delay(organization_id)
