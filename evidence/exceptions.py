"""Risk exceptions: requested with a justification and an expiry, approved by a different
person, revocable; every step is in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evidence.models import Advisory, Exposure, ExposureVersion, Fleet, RiskException
from portal.accounts.audit import audit_record


class ExceptionRefused(ValueError):
    """The request or approval breaks a rule; the message says which."""


def _person(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and getattr(user, "pk", None))


@transaction.atomic
def exception_request(
    *,
    fleet: Fleet,
    requested_by: Any,
    justification: str,
    expires_at: datetime,
    exposure: Exposure | None = None,
    advisory: Advisory | None = None,
    compensating_controls: str = "",
    now: datetime | None = None,
) -> RiskException:
    """Ask to accept the risk of one exposure, or of an advisory across `fleet`."""
    now = now or timezone.now()
    if not _person(requested_by):
        raise ExceptionRefused("an exception is requested by a person, not by an API token")
    if (exposure is None) == (advisory is None):
        raise ExceptionRefused("name either one exposure or one advisory")
    if exposure is not None and exposure.fleet_id != fleet.pk:
        raise ExceptionRefused("the exposure is not in this fleet")
    if not justification.strip():
        raise ExceptionRefused("a justification is required")
    if expires_at <= now:
        raise ExceptionRefused("the expiry must be in the future")
    if expires_at > now + timedelta(days=RiskException.MAX_DAYS):
        raise ExceptionRefused(
            f"an exception lasts at most {RiskException.MAX_DAYS} days; request a new one then"
        )
    exception = RiskException.objects.create(
        organization_id=fleet.organization_id,
        fleet=fleet,
        exposure=exposure,
        exposure_ref=exposure.pk if exposure is not None else None,
        advisory=advisory if exposure is None else exposure.advisory,
        justification=justification.strip(),
        compensating_controls=compensating_controls.strip(),
        requested_by=requested_by,
        requested_at=now,
        expires_at=expires_at,
    )
    audit_record(
        action="exception.requested",
        actor=requested_by,
        organization=fleet.organization,
        target=exception,
        data={
            "fleet": fleet.slug,
            "exposure": exposure.pk if exposure else None,
            "advisory": exception.advisory.external_id if exception.advisory else None,
            "expires_at": expires_at.isoformat(),
        },
    )
    return exception


@transaction.atomic
def exception_approve(
    *, exception: RiskException, approver: Any, now: datetime | None = None
) -> RiskException:
    """Approve a requested exception: by a person other than the one who asked."""
    now = now or timezone.now()
    locked = RiskException.objects.select_for_update().get(pk=exception.pk)
    if not _person(approver):
        raise ExceptionRefused("an exception is approved by a person, not by an API token")
    if approver.pk == locked.requested_by_id:
        raise ExceptionRefused("the person who requested an exception cannot approve it")
    state = locked.state_at(now)
    if state != "requested":
        raise ExceptionRefused(f"this exception is {state}; only a requested one can be approved")
    locked.approved_by = approver
    locked.approved_at = now
    locked.save(update_fields=["approved_by", "approved_at"])
    audit_record(
        action="exception.approved",
        actor=approver,
        organization=locked.organization,
        target=locked,
        data={"expires_at": locked.expires_at.isoformat()},
    )
    return locked


@transaction.atomic
def exception_revoke(
    *, exception: RiskException, actor: Any, now: datetime | None = None
) -> RiskException:
    """End an exception now (requested or approved)."""
    now = now or timezone.now()
    locked = RiskException.objects.select_for_update().get(pk=exception.pk)
    if locked.state_at(now) in ("revoked", "expired"):
        raise ExceptionRefused(f"this exception is already {locked.state_at(now)}")
    locked.revoked_at = now
    locked.save(update_fields=["revoked_at"])
    audit_record(
        action="exception.revoked",
        actor=actor if _person(actor) else None,
        organization=locked.organization,
        target=locked,
        data={},
    )
    return locked


def exceptions_follow(*, host_ids: list[int]) -> int:
    """Point exceptions whose exposure was replaced by matching (its window moved because
    earlier evidence arrived, so the old row went and a new one came) at the replacement: the
    same host, advisory and package name, the open window first. `exposure_ref` keeps the id
    the exception was approved for. Returns how many moved; each move is audited."""
    moved = 0
    orphans = RiskException.objects.filter(
        exposure__isnull=True, exposure_ref__isnull=False, fleet__hosts__in=host_ids
    ).distinct()
    for exception in orphans:
        if exception.exposure_ref is None:  # filtered above; for the type checker
            continue
        last = (
            ExposureVersion.objects.filter(exposure_id=exception.exposure_ref)
            .order_by("-recorded_from")
            .first()
        )
        if last is None:
            continue
        successor = (
            Exposure.objects.filter(
                host_id=last.host_id,
                advisory_id=last.advisory_id,
                package_type=last.package_type,
                package_distro=last.package_distro,
                package_name=last.package_name,
            )
            .order_by(F("fixed_at").desc(nulls_first=True), "-window_start")
            .first()
        )
        if successor is None:
            continue
        RiskException.objects.filter(pk=exception.pk).update(exposure=successor)
        audit_record(
            action="exception.followed",
            organization=exception.organization,
            target=exception,
            data={"from_exposure": exception.exposure_ref, "to_exposure": successor.pk},
        )
        moved += 1
    return moved
