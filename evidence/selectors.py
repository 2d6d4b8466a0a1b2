"""Reads shared by views, the API and reports. Every one takes an `Access` and returns only
what that access may see; a lookup outside it raises Http404."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Exists, F, Max, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from evidence.models import (
    Advisory,
    AuditPacket,
    CloseReason,
    ControlEvaluation,
    Exposure,
    ExposureStatus,
    ExposureVersion,
    FeedRun,
    FeedSource,
    Fleet,
    Host,
    PackageInterval,
    PacketStatus,
    RiskException,
    SbomDocument,
    covers,
    exceptions_in_force,
    versions_known_at,
)
from evidence.packets.signing import Verification, packet_verify
from portal.accounts.access import Access
from portal.accounts.models import ApiToken, AuditEvent


def fleets_visible(access: Access) -> QuerySet[Fleet]:
    qs = Fleet.objects.filter(organization=access.organization)
    if access.fleet_id is not None:
        qs = qs.filter(pk=access.fleet_id)
    return qs


def fleets_with_counts(access: Access) -> QuerySet[Fleet]:
    return fleets_visible(access).annotate(
        host_count=Count("hosts", distinct=True),
        last_seen_at=Max("hosts__last_seen_at"),
    )


def fleet_get(access: Access, *, slug: str) -> Fleet:
    return get_object_or_404(fleets_visible(access), slug=slug)


def hosts_visible(access: Access) -> QuerySet[Host]:
    qs = Host.objects.filter(fleet__organization=access.organization).select_related("fleet")
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs


def host_get(access: Access, *, host_id: int) -> Host:
    return get_object_or_404(hosts_visible(access), pk=host_id)


def sboms_visible(access: Access) -> QuerySet[SbomDocument]:
    qs = SbomDocument.objects.filter(organization=access.organization).select_related(
        "fleet", "host", "submitted_by", "submitted_token"
    )
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs


def host_installed(access: Access, *, host: Host) -> QuerySet[PackageInterval]:
    """The host's packages installed now (open ledger intervals), by name."""
    return (
        PackageInterval.objects.filter(
            host=host, host__fleet__organization=access.organization, present_until__isnull=True
        )
        .select_related("package")
        .order_by("package__name", "package__version")
    )


def sbom_get(access: Access, *, sbom_id: int) -> SbomDocument:
    return get_object_or_404(sboms_visible(access), pk=sbom_id)


def packets_visible(access: Access) -> QuerySet[AuditPacket]:
    qs = AuditPacket.objects.filter(organization=access.organization).select_related(
        "fleet", "requested_by"
    )
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs


def packet_get(access: Access, *, packet_id: int) -> AuditPacket:
    return get_object_or_404(packets_visible(access), pk=packet_id)


def evaluations_visible(access: Access) -> QuerySet[ControlEvaluation]:
    qs = ControlEvaluation.objects.filter(organization=access.organization).select_related("fleet")
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs


def evaluation_get(access: Access, *, evaluation_id: int) -> ControlEvaluation:
    return get_object_or_404(evaluations_visible(access), pk=evaluation_id)


def packet_download_counts(packets: list[AuditPacket]) -> dict[int, int]:
    """How many times each packet's PDF was downloaded, by packet id, in one query."""
    rows = (
        AuditEvent.objects.filter(
            target_type="evidence.auditpacket",
            target_id__in=[str(p.pk) for p in packets],
            action="packet.downloaded",
        )
        .order_by()
        .values_list("target_id")
        .annotate(n=Count("pk"))
    )
    return {int(target): n for target, n in rows}


def packet_downloads(packet: AuditPacket) -> QuerySet[AuditEvent]:
    """Who downloaded the packet (or its manifest) and when, newest first."""
    return (
        AuditEvent.objects.filter(
            target_type="evidence.auditpacket",
            target_id=str(packet.pk),
            action__in=("packet.downloaded", "packet.manifest_downloaded"),
        )
        .select_related("actor")
        .order_by("-seq")
    )


def packet_verification(packet: AuditPacket) -> Verification | None:
    """The stored packet checked as `verify_packet` would check it; None while it has no PDF."""
    if packet.status != PacketStatus.DONE or not packet.pdf:
        return None
    with packet.pdf.open("rb") as handle:
        data = handle.read()
    try:
        return packet_verify(data)
    except ImproperlyConfigured as exc:
        return Verification(False, f"cannot verify here: {exc}")


def tokens_visible(access: Access) -> QuerySet[ApiToken]:
    """API tokens are managed by writers only; others see none."""
    if not access.can_write or access.token is not None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(organization=access.organization).select_related(
        "fleet", "created_by"
    )


def token_get(access: Access, *, token_id: int) -> ApiToken:
    return get_object_or_404(tokens_visible(access), pk=token_id)


# Feeds are upstream facts shared by every organisation: any member may read their health.


@dataclass(frozen=True)
class FeedHealth:
    source: FeedSource
    last_run: FeedRun | None
    age: timedelta | None
    stale: bool
    advisories: int

    @property
    def state(self) -> str:
        """ "ok", "stale", "failing" (last attempt failed) or "never" (never synced)."""
        return _feed_state(self.source, stale=self.stale)


def _feed_state(source: FeedSource, *, stale: bool) -> str:
    if source.last_success_at is None:
        return "failing" if source.consecutive_failures else "never"
    if source.consecutive_failures:
        return "failing"
    return "stale" if stale else "ok"


def feed_health(source: FeedSource, *, now: datetime | None = None) -> FeedHealth:
    now = now or timezone.now()
    return FeedHealth(
        source=source,
        last_run=source.runs.first(),
        age=source.age(now),
        stale=source.is_stale(now),
        advisories=Advisory.objects.filter(source=source.kind).count(),
    )


def feeds_health(*, now: datetime | None = None) -> list[FeedHealth]:
    return [feed_health(source, now=now) for source in FeedSource.objects.all()]


def feeds_not_ok(*, now: datetime | None = None) -> list[FeedSource]:
    """The feeds whose `FeedHealth.state` is not "ok" (stale, failing or never synced), in one
    query: without the last runs and advisory counts `feeds_health` reads for each feed."""
    now = now or timezone.now()
    return [s for s in FeedSource.objects.all() if _feed_state(s, stale=s.is_stale(now)) != "ok"]


def feed_get(*, slug: str) -> FeedSource:
    return get_object_or_404(FeedSource, slug=slug)


# Exposures.


def exposures_visible(access: Access, *, now: datetime | None = None) -> QuerySet[Exposure]:
    """The caller's exposures (a fleet-scoped caller: its fleet's), with `current_status`."""
    qs = Exposure.objects.filter(organization=access.organization)
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs.with_status(now).select_related("host", "fleet", "advisory", "package")


def exposure_versions_visible(access: Access, *, known_at: datetime) -> QuerySet[ExposureVersion]:
    """The caller's exposures as Patchproof knew them at `known_at` (one version each)."""
    qs = ExposureVersion.objects.filter(
        versions_known_at(known_at), organization=access.organization
    )
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs


EXPOSURE_FILTERS = ("fleet", "host", "advisory", "cve", "tier", "status", "kev")


def exposures_filtered(
    access: Access, params: Mapping[str, str], *, now: datetime | None = None
) -> QuerySet[Exposure]:
    """Exposures narrowed by the query parameters users filter on (unknown values match
    nothing rather than everything)."""
    now = now or timezone.now()
    qs = exposures_visible(access, now=now)
    if params.get("fleet"):
        qs = qs.filter(fleet__slug=params["fleet"])
    if params.get("host"):
        host = params["host"]
        qs = qs.filter(host_id=int(host)) if host.isdigit() else qs.filter(host__hostname=host)
    if params.get("advisory"):
        qs = qs.filter(advisory__external_id=params["advisory"])
    if params.get("cve"):
        qs = qs.filter(advisory__aliases__alias=params["cve"].upper()).distinct()
    if params.get("tier"):
        qs = qs.filter(tier=params["tier"])
    if params.get("status"):
        status = _status_conditions(now).get(params["status"])
        qs = qs.none() if status is None else qs.filter(status)
    if params.get("kev") in ("1", "true", "yes"):
        qs = qs.filter(kev_added_at__isnull=False)
    elif params.get("kev") in ("0", "false", "no"):
        qs = qs.filter(kev_added_at__isnull=True)
    return qs


def _status_conditions(now: datetime) -> dict[str, Q]:
    """For each status, the condition "`ExposureQuerySet.with_status(now)` gives it", spelled
    as plain conditions on the row: filtering on the annotation made PostgreSQL compute it
    for every exposure of the organisation to count a page's rows."""
    covered = Q(Exists(RiskException.objects.filter(exceptions_in_force(now)).filter(covers("pk"))))
    counted = ~Q(closed_reason__in=(CloseReason.NOT_AFFECTED, CloseReason.EXCEPTION))
    fixed = counted & Q(fixed_at__isnull=False)
    unfixed = counted & Q(fixed_at__isnull=True) & ~covered
    past_due = Q(due_at__isnull=False, due_at__lt=now)
    return {
        ExposureStatus.NOT_AFFECTED: Q(closed_reason=CloseReason.NOT_AFFECTED),
        ExposureStatus.EXCEPTED: Q(closed_reason=CloseReason.EXCEPTION)
        | (~Q(closed_reason=CloseReason.NOT_AFFECTED) & Q(fixed_at__isnull=True) & covered),
        ExposureStatus.FIXED_IN_SLA: fixed
        & (Q(due_at__isnull=True) | Q(fixed_at__lte=F("due_at"))),
        ExposureStatus.FIXED_LATE: fixed & Q(due_at__isnull=False, fixed_at__gt=F("due_at")),
        ExposureStatus.OVERDUE: unfixed & past_due,
        ExposureStatus.REGRESSED: unfixed & ~past_due & Q(regression=True),
        ExposureStatus.OPEN: unfixed & ~past_due & Q(regression=False),
    }


def exceptions_visible(access: Access) -> QuerySet[RiskException]:
    qs = RiskException.objects.filter(organization=access.organization)
    if access.fleet_id is not None:
        qs = qs.filter(fleet_id=access.fleet_id)
    return qs.select_related("fleet", "advisory", "requested_by", "approved_by")
