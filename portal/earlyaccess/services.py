from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.earlyaccess.models import Registration


def registration_submit(*, data: dict[str, Any]) -> Registration:
    """Create or update the registration for `data['work_email']` (case-insensitive), with
    consent recorded against the current privacy notice version."""
    now = timezone.now()
    email = data["work_email"].strip().lower()
    fields = {
        "organization_name": data["organization_name"],
        "contact_name": data["contact_name"],
        "fleet_size": data["fleet_size"],
        "current_distribution": data["current_distribution"],
        "consent_notice_version": settings.PRIVACY_NOTICE_VERSION,
        "consented_at": now,
        "updated_at": now,
    }
    with transaction.atomic():
        registration, _ = Registration.objects.update_or_create(work_email=email, defaults=fields)
    return registration
