"""Reads of early-access data: a registrant's own export, a registration's history, the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import AuditEvent
from portal.earlyaccess.azure import AZURE_REGIONS
from portal.earlyaccess.links import LinkInvalid
from portal.earlyaccess.models import Registration, Status, Workload

_REGION_LABELS = dict(AZURE_REGIONS)
_WORKLOAD_LABELS = dict(Workload.choices)


def registration_for_link(*, registration_id: int) -> Registration:
    """The live registration a personal link names; `LinkInvalid` once it has been erased."""
    registration = (
        Registration.objects.select_related("bundle", "organization")
        .exclude(status=Status.DELETED)
        .filter(pk=registration_id)
        .first()
    )
    if registration is None:
        raise LinkInvalid(expired=False)
    return registration


def registration_history(registration: Registration) -> QuerySet[AuditEvent]:
    """The audit events about one registration, oldest first."""
    return AuditEvent.objects.filter(
        target_type=Registration._meta.label_lower, target_id=str(registration.pk)
    ).order_by("seq")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def registration_export(registration: Registration) -> dict[str, Any]:
    """Everything we hold about a registrant, for their own download (GDPR Art. 15 and 20,
    CCPA right to know). Staff names are left out of the history: they are not the
    registrant's data."""
    return {
        "exported_at": timezone.now().isoformat(),
        "controller": "Patchproof early-access programme",
        "privacy_notice": (
            f"{settings.SITE_URL}{reverse('earlyaccess:privacy')}"
            f"?version={registration.consent_notice_version}"
        ),
        "registration": {
            "id": registration.pk,
            "status": registration.status,
            "organisation": registration.organization_name,
            "contact_name": registration.contact_name,
            "work_email": registration.work_email,
            "country": registration.country,
            "fleet_size": registration.fleet_size,
            "current_distribution": registration.current_distribution,
            "azure_regions": list(registration.azure_regions),
            "workloads": list(registration.workloads),
            "other_workloads": registration.workloads_other,
            "interested_in_migration_tooling": registration.wants_migration_tooling,
            "registered_at": _iso(registration.created_at),
            "last_submitted_at": _iso(registration.updated_at),
            "address_confirmed_at": _iso(registration.confirmed_at),
            "bundle": registration.bundle.name if registration.bundle else None,
            "portal_organisation": (
                registration.organization.name if registration.organization else None
            ),
        },
        "consent": {
            "privacy_notice_version": registration.consent_notice_version,
            "given_at": _iso(registration.consented_at),
        },
        "details_awaiting_confirmation": registration.pending_changes,
        "history": [
            {"at": _iso(event.occurred_at), "event": event.action.removeprefix("earlyaccess.")}
            for event in registration_history(registration)
        ],
    }


CSV_COLUMNS = [
    "id",
    "status",
    "organisation",
    "contact_name",
    "work_email",
    "country",
    "fleet_size",
    "current_distribution",
    "azure_regions",
    "workloads",
    "other_workloads",
    "migration_tooling",
    "bundle",
    "portal_organisation",
    "registered_at",
    "confirmed_at",
    "status_changed_at",
    "consent_notice_version",
    "consented_at",
]
# Spreadsheet programs run cells that start with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def leads_for_csv(queryset: QuerySet[Registration]) -> QuerySet[Registration]:
    """The confirmed registrations of `queryset` (unconfirmed ones are never leads)."""
    return (
        queryset.filter(confirmed_at__isnull=False)
        .exclude(status=Status.UNCONFIRMED)
        .select_related("bundle", "organization")
        .order_by("pk")
    )


def _rows(registrations: Iterable[Registration]) -> Iterator[list[str]]:
    for r in registrations:
        yield [
            _cell(v)
            for v in (
                r.pk,
                r.status,
                r.organization_name,
                r.contact_name,
                r.work_email,
                r.country,
                r.fleet_size,
                r.current_distribution,
                "; ".join(_REGION_LABELS.get(code, code) for code in r.azure_regions),
                "; ".join(_WORKLOAD_LABELS.get(code, code) for code in r.workloads),
                r.workloads_other,
                "yes" if r.wants_migration_tooling else "no",
                r.bundle.name if r.bundle else "",
                r.organization.slug if r.organization else "",
                _iso(r.created_at),
                _iso(r.confirmed_at),
                _iso(r.status_changed_at),
                r.consent_notice_version,
                _iso(r.consented_at),
            )
        ]


def leads_csv(queryset: QuerySet[Registration]) -> str:
    """The leads of `queryset` as CSV text, one header row then one row per registration."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_rows(leads_for_csv(queryset).iterator(chunk_size=500)))
    return out.getvalue()
