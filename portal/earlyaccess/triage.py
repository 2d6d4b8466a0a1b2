"""What staff do with confirmed registrations: decide, hand out bundles, invite to the portal.

Each change locks the registration's row, checks the change is allowed from where it stands,
records who made it and when (on the row and in the audit log, which holds ids only), and
queues the email that tells the registrant.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from portal.accounts.audit import audit_record
from portal.accounts.models import Membership, Organization, Role
from portal.earlyaccess.emails import email_queue
from portal.earlyaccess.models import Bundle, Registration, Status
from portal.earlyaccess.selectors import leads_csv

# Which statuses each decision may be taken from. Unconfirmed and erased registrations are not
# leads and appear nowhere here.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.APPROVED: frozenset({Status.NEW, Status.WAITLISTED, Status.REJECTED}),
    Status.WAITLISTED: frozenset({Status.NEW, Status.APPROVED, Status.REJECTED}),
    Status.REJECTED: frozenset({Status.NEW, Status.WAITLISTED, Status.APPROVED}),
    Status.ONBOARDED: frozenset({Status.APPROVED}),
}
INVITABLE = frozenset({Status.APPROVED, Status.ONBOARDED})


def _locked(registration_id: int) -> Registration:
    return Registration.objects.select_for_update().get(pk=registration_id)


def bundle_for(registration: Registration) -> Bundle | None:
    """The active bundle for the distribution the registrant runs now, if there is one."""
    return Bundle.objects.filter(
        distribution=registration.current_distribution, is_active=True
    ).first()


def registration_decide(*, registration_id: int, status: str, actor: Any) -> bool:
    """Move a confirmed registration to `status` (approved, waitlisted, rejected, onboarded)
    and email the registrant. Approving also assigns the matching bundle when none is set.

    Returns False, changing nothing, when the move is not allowed from the current status
    (this is what makes repeating an action harmless)."""
    allowed_from = TRANSITIONS[status]
    with transaction.atomic():
        registration = _locked(registration_id)
        if registration.status not in allowed_from or not registration.is_confirmed:
            return False
        previous = registration.status
        registration.status = status
        registration.status_changed_at = timezone.now()
        registration.status_changed_by = actor
        data: dict[str, Any] = {"from": previous, "to": status}
        if status == Status.APPROVED and registration.bundle_id is None:
            bundle = bundle_for(registration)
            if bundle is not None:
                registration.bundle = bundle
                data["bundle_id"] = bundle.pk
        registration.save()
        audit_record(
            action=f"earlyaccess.{status}",
            actor=actor,
            organization=registration.organization,
            target=registration,
            data=data,
        )
        email_queue(registration_id=registration.pk, kind=str(status))
    return True


def registration_bundle_assign(
    *, registration_id: int, actor: Any, bundle: Bundle | None = None
) -> bool:
    """Give a confirmed registration `bundle` (default: the active one for its distribution).
    Registrants already approved or onboarded get an email with the bundle's links.

    Returns False when nothing changed (no matching bundle, or that bundle is already set)."""
    with transaction.atomic():
        registration = _locked(registration_id)
        if not registration.is_confirmed or registration.status == Status.DELETED:
            return False
        chosen = bundle if bundle is not None else bundle_for(registration)
        if chosen is None or chosen.pk == registration.bundle_id:
            return False
        registration.bundle = chosen
        registration.save(update_fields=["bundle"])
        audit_record(
            action="earlyaccess.bundle_assigned",
            actor=actor,
            organization=registration.organization,
            target=registration,
            data={"bundle_id": chosen.pk},
        )
        if registration.status in INVITABLE:
            email_queue(registration_id=registration.pk, kind="bundle")
    return True


def _free_slug(name: str, fallback: str) -> str:
    base = slugify(name)[:48].strip("-") or fallback
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def registration_invite(*, registration_id: int, actor: Any) -> Organization | None:
    """Connect an approved registration to the evidence portal: create its organisation (once),
    make the contact its owner (creating their account without a password), and email them
    an invitation with a set-password link.

    Idempotent: a registration with an organisation gets no second one, only a fresh
    invitation. Returns None, changing nothing, for registrations that are not approved."""
    with transaction.atomic():
        registration = _locked(registration_id)
        if registration.status not in INVITABLE or not registration.work_email:
            return None
        organization = registration.organization
        created = organization is None
        if organization is None:
            organization = Organization.objects.create(
                name=registration.organization_name,
                slug=_free_slug(registration.organization_name, f"org-{registration.pk}"),
            )
        user_model = get_user_model()
        user = (
            user_model.objects.filter(email__iexact=registration.work_email).first()
            or user_model.objects.filter(username__iexact=registration.work_email).first()
        )
        if user is None:
            user = user_model(username=registration.work_email, email=registration.work_email)
            user.set_unusable_password()
            user.save()
        Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": Role.OWNER}
        )
        registration.organization = organization
        registration.portal_user = user
        registration.save(update_fields=["organization", "portal_user"])
        audit_record(
            action="earlyaccess.invited",
            actor=actor,
            organization=organization,
            target=registration,
            data={
                "organization_id": organization.pk,
                "organization_created": created,
                "user_id": user.pk,
            },
        )
        email_queue(registration_id=registration.pk, kind="invitation")
    return organization


def registration_approve_and_invite(*, registration_id: int, actor: Any) -> Organization | None:
    """Approve (if not yet approved) and invite, in one transaction: see the two above."""
    with transaction.atomic():
        registration_decide(registration_id=registration_id, status=Status.APPROVED, actor=actor)
        return registration_invite(registration_id=registration_id, actor=actor)


def leads_export(*, queryset: QuerySet[Registration], actor: Any) -> str:
    """The confirmed leads of `queryset` as CSV; the export itself is recorded (how many rows,
    by whom), since it takes personal data out of the portal."""
    body = leads_csv(queryset)
    audit_record(
        action="earlyaccess.leads_exported",
        actor=actor,
        data={"rows": max(0, body.count("\n") - 1)},
    )
    return body
