"""Selectors: the events that deserve a notification at `now`, one `Event` each.

Each event has a key that names it for good (`Event.key`); `evidence.notifications.send` stores
one Notification per (organisation, key), so an event found again by the next scan is not sent
again. Keys carry the date the event is about (the due date, the expiry date, the last success),
so a changed date is a new event: an exposure whose due date moves and passes again, an exception
renewed and expiring again, a feed that recovered and went stale again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse

from evidence.models import (
    Exposure,
    ExposureStatus,
    FeedSource,
    NotificationKind,
    RiskException,
    exceptions_in_force,
)
from portal.accounts.models import Organization

# An exposure is notified as overdue when its due date passed within this window: older ones are
# already on the dashboard, and the first scan after an upgrade must not mail the whole backlog.
OVERDUE_LOOKBACK = timedelta(days=30)
# Approved exceptions expiring within this many days are announced.
EXPIRING_WITHIN = timedelta(days=7)

_STILL_OPEN = [ExposureStatus.OPEN, ExposureStatus.OVERDUE, ExposureStatus.REGRESSED]


@dataclass(frozen=True)
class Event:
    """One event for one organisation: what the notification will say and carry."""

    organization_id: int
    kind: str
    key: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


def _link(name: str, **kwargs: Any) -> str:
    """An absolute link to a portal page, for emails and webhook payloads (sent by workers,
    outside any request, so the address comes from SITE_URL)."""
    return settings.SITE_URL + reverse(name, kwargs=kwargs)


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when is not None else "never"


def _exposure_link(exposure: Exposure) -> str:
    return _link("evidence:host", org=exposure.organization.slug, host_id=exposure.host_id)


def _exposure_facts(exposure: Exposure) -> dict[str, Any]:
    return {
        "url": _exposure_link(exposure),
        "exposure_id": exposure.pk,
        "fleet": exposure.fleet.slug,
        "host": exposure.host.hostname,
        "advisory": exposure.advisory.external_id,
        "package": exposure.package_name,
        "tier": exposure.tier,
        "due_at": _iso(exposure.due_at),
    }


def overdue_exposure_events(*, now: datetime) -> Iterator[Event]:
    """Open, unexcepted exposures whose due date passed in the last OVERDUE_LOOKBACK."""
    exposures = (
        Exposure.objects.with_status(now)
        .filter(due_at__gte=now - OVERDUE_LOOKBACK)
        .filter(current_status=ExposureStatus.OVERDUE)  # type: ignore[misc]  # annotated
        .select_related("organization", "fleet", "host", "advisory")
        .order_by("pk")
    )
    for exposure in exposures:
        due_at = exposure.due_at or now  # never None: the filter says so
        where = f"{exposure.host.hostname} ({exposure.fleet.name})"
        yield Event(
            organization_id=exposure.organization_id,
            kind=NotificationKind.EXPOSURE_OVERDUE,
            key=f"exposure_overdue:{exposure.pk}:{due_at.isoformat()}",
            subject=f"Overdue: {exposure.advisory.external_id} on {exposure.host.hostname}",
            body=(
                f"{exposure.package_name} on {where} is affected by "
                f"{exposure.advisory.external_id} ({exposure.tier or 'no tier'}) and was due "
                f"to be fixed by {due_at:%Y-%m-%d %H:%M} UTC. It is still open.\n\n"
                f"Evidence: {_exposure_link(exposure)}"
            ),
            payload=_exposure_facts(exposure),
        )


def kev_on_host_events(*, now: datetime) -> Iterator[Event]:
    """Open, unexcepted exposures to a known-exploited (CISA KEV) vulnerability.

    Keyed by host, advisory and package, not by exposure id: matching may replace an exposure
    when earlier evidence arrives, and that is not a new KEV item on the host.
    """
    exposures = (
        Exposure.objects.with_status(now)
        .filter(kev_added_at__isnull=False, kev_added_at__lte=now)
        .filter(current_status__in=_STILL_OPEN)  # type: ignore[misc]  # annotated
        .select_related("organization", "fleet", "host", "advisory")
        .order_by("pk")
    )
    for exposure in exposures:
        due = f"{exposure.due_at:%Y-%m-%d}" if exposure.due_at else "no due date"
        yield Event(
            organization_id=exposure.organization_id,
            kind=NotificationKind.KEV_ON_HOST,
            key=(
                f"kev_on_host:{exposure.host_id}:{exposure.advisory_id}:"
                f"{exposure.package_type}:{exposure.package_name}"
            ),
            subject=f"Known exploited: {exposure.advisory.external_id} on {exposure.host.hostname}",
            body=(
                f"{exposure.package_name} on {exposure.host.hostname} ({exposure.fleet.name}) is "
                f"affected by {exposure.advisory.external_id}, which is in CISA's Known Exploited "
                f"Vulnerabilities catalogue. Due: {due}.\n\nEvidence: {_exposure_link(exposure)}"
            ),
            payload={**_exposure_facts(exposure), "kev_added_at": _iso(exposure.kev_added_at)},
        )


def expiring_exception_events(*, now: datetime) -> Iterator[Event]:
    """Approved exceptions in force at `now` that expire within EXPIRING_WITHIN."""
    exceptions = (
        RiskException.objects.filter(exceptions_in_force(now))
        .filter(expires_at__lte=now + EXPIRING_WITHIN)
        .select_related("organization", "fleet", "advisory")
        .order_by("pk")
    )
    for exception in exceptions:
        org = exception.organization.slug
        url = _link("evidence:exception", org=org, exception_id=exception.pk)
        what = (
            f"exposure {exception.exposure_ref}"
            if exception.exposure_ref
            else f"advisory {exception.advisory.external_id if exception.advisory else '?'}"
        )
        yield Event(
            organization_id=exception.organization_id,
            kind=NotificationKind.EXCEPTION_EXPIRING,
            key=f"exception_expiring:{exception.pk}:{exception.expires_at.isoformat()}",
            subject=f"Exception expiring {exception.expires_at:%Y-%m-%d}: {what}",
            body=(
                f"The risk exception for {what} in {exception.fleet.name} expires on "
                f"{exception.expires_at:%Y-%m-%d %H:%M} UTC. After that the exposures it covers "
                f"count as open (or overdue) again.\n\nThe exception: {url}"
            ),
            payload={
                "url": url,
                "exception_id": exception.pk,
                "fleet": exception.fleet.slug,
                "exposure_id": exception.exposure_ref,
                "expires_at": _iso(exception.expires_at),
            },
        )


def stale_feed_events(*, now: datetime) -> Iterator[Event]:
    """Enabled, scheduled (URL set) feeds that are stale, for every organisation with members.

    A feed is stale when its last success is older than `stale_after`, or when it was tried and
    never succeeded. Feeds are shared: every organisation's exposures depend on them.
    """
    stale = [
        source
        for source in FeedSource.objects.filter(enabled=True).exclude(url="").order_by("slug")
        # Never tried is not stale yet: right after installation beat has not run it.
        if source.is_stale(now) and (source.last_success_at or source.last_attempt_at)
    ]
    if not stale:
        return
    organizations = list(
        Organization.objects.filter(memberships__isnull=False)
        .distinct()
        .order_by("pk")
        .values_list("pk", "slug")
    )
    for source in stale:
        last = f"{source.last_success_at:%Y-%m-%d %H:%M} UTC" if source.last_success_at else "never"
        for organization_id, slug in organizations:
            url = _link("evidence:feed", org=slug, feed=source.slug)
            yield Event(
                organization_id=organization_id,
                kind=NotificationKind.FEED_STALE,
                key=f"feed_stale:{source.slug}:{_iso(source.last_success_at)}",
                subject=f"Feed stale: {source.slug}",
                body=(
                    f"The {source.slug} advisory feed last synced successfully {last}; it should "
                    f"sync every {source.interval}. Exposures from its advisories may be missing."
                    + (f" Last error: {source.last_error}" if source.last_error else "")
                    + f"\n\nFeed health: {url}"
                ),
                payload={
                    "url": url,
                    "feed": source.slug,
                    "last_success_at": _iso(source.last_success_at),
                    "last_error": source.last_error,
                },
            )


def notification_events(*, now: datetime) -> Iterator[Event]:
    """Every event due at `now`, of every kind, for every organisation."""
    yield from overdue_exposure_events(now=now)
    yield from kev_on_host_events(now=now)
    yield from expiring_exception_events(now=now)
    yield from stale_feed_events(now=now)
