"""The Exposures page: filter, sort and page through exposures; export exactly what is filtered.

Filters are the API's (`evidence.selectors.EXPOSURE_FILTERS`: fleet, host, advisory, cve, tier,
status, kev) plus `opened_from` / `opened_to` (dates, inclusive, on the window's start). The CSV
export takes the same query string, so a spreadsheet holds exactly the rows on screen (all
pages of them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from evidence import selectors
from evidence.exports import csv_cell
from evidence.models import Exposure, ExposureStatus
from portal.accounts.access import Access
from portal.accounts.audit import audit_record
from portal.accounts.decorators import org_view

PAGE_SIZE = 50
SORTS = {
    "due": ("due_at", "pk"),
    "-due": ("-due_at", "-pk"),
    "opened": ("window_start", "pk"),
    "-opened": ("-window_start", "-pk"),
    "host": ("host__hostname", "package_name", "pk"),
    "tier": ("tier", "due_at", "pk"),
}
CSV_COLUMNS = (
    "id", "fleet", "host", "advisory", "cves", "package", "tier", "status", "published_at",
    "fix_available_at", "kev_added_at", "kev_due_at", "window_start", "detected_at", "due_at",
    "fixed_at",
)  # fmt: skip


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def exposures_for_page(access: Access, params: Any) -> tuple[QuerySet[Exposure], list[str]]:
    """The filtered, sorted exposures of the caller, and the problems with the filters (an
    unreadable date is named and ignored, never silently widened)."""
    problems = []
    query = selectors.exposures_filtered(access, params)
    for key, lookup, shift in (("opened_from", "gte", 0), ("opened_to", "lt", 1)):
        raw = params.get(key)
        parsed = _date(raw)
        if raw and parsed is None:
            problems.append(f"{key.replace('_', ' ')}: {raw!r} is not a date (YYYY-MM-DD)")
        elif parsed is not None:
            bound = datetime.combine(parsed + timedelta(days=shift), time(), tzinfo=UTC)
            query = query.filter(**{f"window_start__{lookup}": bound})
    order = SORTS.get(params.get("sort", ""), SORTS["-opened"])
    return query.order_by(*order), problems


@org_view()
def exposure_list(request: HttpRequest, access: Access) -> HttpResponse | StreamingHttpResponse:
    query, problems = exposures_for_page(access, request.GET)
    if request.GET.get("format") == "csv":
        return _csv(request, access, query.prefetch_related("advisory__aliases"))  # the CVEs
    page = Paginator(query, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "access": access,
        "page": page,
        "problems": problems,
        "params": params,
        "query_string": params.urlencode(),
        "fleets": selectors.fleets_visible(access),
        "statuses": ExposureStatus.choices,
        "sorts": [
            ("-opened", "newest first"),
            ("opened", "oldest first"),
            ("due", "due soonest"),
            ("-due", "due latest"),
            ("host", "host"),
            ("tier", "tier"),
        ],
    }
    return render(request, "evidence/exposure_list.html", context)


def _csv(request: HttpRequest, access: Access, query: QuerySet[Exposure]) -> StreamingHttpResponse:
    audit_record(
        action="exposures.exported",
        actor=request.user,
        organization=access.organization,
        data={"role": access.role, "filters": request.GET.dict()},
    )

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for e in query.iterator(chunk_size=2000):
            cves = " ".join(sorted(a.alias for a in e.advisory.aliases.all()))
            advisory = f"{e.advisory.source}:{e.advisory.external_id}"
            status = e.current_status  # type: ignore[attr-defined]  # annotated
            row = [
                e.pk, e.fleet.slug, e.host.hostname, advisory, cves, e.package.purl, e.tier,
                status, e.published_at, e.fix_available_at, e.kev_added_at, e.kev_due_at,
                e.window_start, e.detected_at, e.due_at, e.fixed_at,
            ]  # fmt: skip
            writer.writerow([csv_cell(v) for v in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="{access.organization.slug}-exposures.csv"'
    )
    return response
