"""Exports of a packet's scope and period, for GRC tools and spreadsheets.

Every export of a packet covers exactly what the packet covers, as Patchproof knew it at the
packet's `known_at`: the exposure windows overlapping the period (from the exposure history),
and the control assessments of the packet's evaluation. So the CSV an auditor downloads next
year matches the PDF they were given. OSCAL Assessment Results: evidence.oscal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, Q
from django.http import FileResponse, StreamingHttpResponse

from evidence.models import (
    AuditPacket,
    ControlEvaluation,
    ExposureVersion,
    RiskException,
    covers,
    exceptions_in_force,
    versions_known_at,
)

EXPOSURE_COLUMNS = (
    "exposure_id", "fleet", "host", "advisory_source", "advisory_id", "advisory_title",
    "package_type", "package_distro", "package_name", "package_version", "tier", "sla_profile",
    "published_at", "fix_available_at", "kev_added_at", "kev_due_at", "window_start",
    "detected_at", "due_at", "fixed_at", "closed_reason", "regression", "status_at_end",
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    "control_id", "title", "status", "metric_id", "metric", "unit", "value", "target_op",
    "target", "partial_target", "outcome", "rationale",
)  # fmt: skip


def csv_cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _lines(header: tuple[str, ...], rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _bounds(packet: AuditPacket) -> tuple[datetime, datetime, datetime]:
    start = datetime.combine(packet.period_start, time(), tzinfo=UTC)
    end = datetime.combine(packet.period_end + timedelta(days=1), time(), tzinfo=UTC)
    as_of = packet.as_of or end
    return start, as_of, packet.known_at or as_of


def _status(v: ExposureVersion, as_of: datetime) -> str:
    """The status at the end of the period, as the packet counts it."""
    if v.closed_reason == "not_affected":
        return "not_affected"
    if v.closed_reason == "exception":
        return "excepted"
    open_at_end = v.fixed_at is None or v.fixed_at >= as_of
    if open_at_end and getattr(v, "excepted", False):
        return "excepted"
    if v.fixed_at is not None and v.fixed_at < as_of:
        late = v.due_at is not None and v.fixed_at > v.due_at
        return "fixed_late" if late else "fixed_in_sla"
    if v.due_at is not None and v.due_at < as_of:
        return "overdue"
    return "regressed" if v.regression else "open"


def _exposure_row(v: ExposureVersion, as_of: datetime) -> list[Any]:
    advisory = v.advisory
    return [
        v.exposure_id, v.fleet.slug, v.host.hostname, advisory.source, advisory.external_id,
        advisory.title, v.package_type, v.package_distro, v.package_name, v.package.version,
        v.tier, v.sla_profile, v.published_at, v.fix_available_at, v.kev_added_at, v.kev_due_at,
        v.window_start, v.detected_at, v.due_at, v.fixed_at, v.closed_reason, v.regression,
        _status(v, as_of),
    ]  # fmt: skip


def exposures_csv(packet: AuditPacket) -> Iterator[str]:
    """The exposure windows overlapping the packet's period, as known at its `known_at`,
    with their status at the end of the period (exceptions are listed in the packet)."""
    start, as_of, known_at = _bounds(packet)
    query = ExposureVersion.objects.filter(
        versions_known_at(known_at),
        Q(window_start__lt=as_of) & (Q(fixed_at__isnull=True) | Q(fixed_at__gte=start)),
        organization=packet.organization,
    )
    if packet.fleet_id:
        query = query.filter(fleet_id=packet.fleet_id)
    covered = RiskException.objects.filter(exceptions_in_force(as_of)).filter(covers("exposure_id"))
    query = query.annotate(excepted=Exists(covered))
    query = query.select_related("fleet", "host", "advisory", "package").order_by(
        "fleet__slug", "host__hostname", "window_start", "exposure_id"
    )
    rows = (_exposure_row(v, as_of) for v in query.iterator(chunk_size=2000))
    return _lines(EXPOSURE_COLUMNS, rows)


def assessments_csv(evaluation: ControlEvaluation) -> Iterator[str]:
    """One row per control and metric of an evaluation."""

    def rows() -> Iterator[list[Any]]:
        for a in evaluation.assessments.order_by("pk"):
            for m in a.metrics:
                threshold, partial = m.get("threshold") or {}, m.get("partial") or {}
                yield [
                    a.control_id, a.title, a.status, m["id"], m["label"], m["unit"],
                    m["value"], threshold.get("op"), threshold.get("value"),
                    partial.get("value"), m["outcome"], a.rationale,
                ]  # fmt: skip

    return _lines(ASSESSMENT_COLUMNS, rows())


# name -> (content type, file name suffix)
KINDS = {
    "exposures.csv": ("text/csv", "exposures.csv"),
    "assessments.csv": ("text/csv", "control-assessments.csv"),
    "oscal.json": ("application/json", "oscal-assessment-results.json"),
}


def export_response(packet: AuditPacket, kind: str) -> StreamingHttpResponse:
    """A download of one export (`KINDS`) of a rendered packet."""
    from evidence.oscal import assessment_results_json
    from evidence.packets.build import packet_stem

    if packet.evaluation is None:
        raise ValueError("the packet has no evaluation")
    content_type, suffix = KINDS[kind]
    body: Any
    if kind == "exposures.csv":
        body = exposures_csv(packet)
    elif kind == "assessments.csv":
        body = assessments_csv(packet.evaluation)
    else:
        body = [assessment_results_json(packet.evaluation)]
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{packet_stem(packet)}-{suffix}"'
    return response


# The stored files of a packet: name -> (field, content type, audit action).
FILES = {
    "pdf": ("pdf", "application/pdf", "packet.downloaded"),
    "manifest": ("manifest_file", "application/json", "packet.manifest_downloaded"),
}


def file_response(packet: AuditPacket, which: str) -> FileResponse:
    """A download of one stored file of a rendered packet (`FILES`)."""
    field, content_type, _action = FILES[which]
    stored = getattr(packet, field)
    return FileResponse(
        stored.open("rb"),
        as_attachment=True,
        filename=stored.name.rsplit("/", 1)[-1],
        content_type=content_type,
    )
