"""Choosing a fleet's SLA profile: recorded (who, when, previous, exact version) and audited,
then every exposure of the organisation is recomputed under the new policy."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from evidence.models import Fleet, SlaProfileChange
from evidence.sla.profiles import profile_digest, profile_load
from portal.accounts.audit import audit_record


@transaction.atomic
def sla_profile_assign(
    *, fleet: Fleet, slug: str, actor: Any = None, actor_label: str = "", reason: str = ""
) -> SlaProfileChange:
    """Give `fleet` the shipped profile `slug` (UnknownProfileError, a LookupError, if there
    is none). Assigning the profile it already has records nothing new and returns the last
    change."""
    profile = profile_load(slug)
    digest = profile_digest(profile)
    locked = Fleet.objects.select_for_update().get(pk=fleet.pk)
    last = locked.sla_changes.first()
    if last is not None and locked.sla_profile == slug and last.profile_digest == digest:
        return last
    previous = locked.sla_profile
    previous_digest = last.profile_digest if last is not None else ""
    if not previous_digest and previous:
        try:
            previous_digest = profile_digest(profile_load(previous))
        except (ValueError, LookupError):
            previous_digest = ""
    change = SlaProfileChange.objects.create(
        fleet=locked,
        profile=slug,
        profile_version=str(profile.version),
        profile_digest=digest,
        previous=previous,
        previous_digest=previous_digest,
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason[:2000],
    )
    locked.sla_profile = slug
    locked.save(update_fields=["sla_profile"])
    fleet.sla_profile = slug
    audit_record(
        action="fleet.sla_profile_changed",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label,
        organization=locked.organization,
        target=locked,
        data={"profile": slug, "digest": digest, "previous": previous, "reason": reason[:500]},
    )
    organization_id = locked.organization_id
    transaction.on_commit(lambda: _recompute(organization_id))
    return change


def _recompute(organization_id: int) -> None:
    from evidence.tasks import exposures_recompute_task

    exposures_recompute_task.delay(organization_id)
