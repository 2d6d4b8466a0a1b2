"""API tokens: issuing, revoking and resolving bearer secrets."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts.audit import audit_record
from portal.accounts.models import ApiToken, Organization

TOKEN_PREFIX = "pp_"  # noqa: S105 - a marker, not a secret
# last_used_at is advisory; writing it on every request would turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    # The secret carries 256 bits of entropy, so a plain SHA-256 is enough (no KDF needed).
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def api_token_create(
    *,
    organization: Organization,
    name: str,
    fleet: Any = None,
    created_by: Any = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the secret, which is not stored and not shown again.

    Without `expires_at` the token expires after API_TOKEN_LIFETIME_DAYS (0: never), so a
    forgotten token stops working on its own."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if expires_at is None and settings.API_TOKEN_LIFETIME_DAYS > 0:
        expires_at = timezone.now() + timedelta(days=settings.API_TOKEN_LIFETIME_DAYS)
    with transaction.atomic():
        token = ApiToken.objects.create(
            organization=organization,
            fleet=fleet,
            name=name,
            prefix=secret[:10],
            key_hash=_digest(secret),
            created_by=created_by,
            expires_at=expires_at,
        )
        audit_record(
            action="api_token.created",
            actor=created_by,
            organization=organization,
            target=token,
            data={
                "name": name,
                "fleet": fleet.slug if fleet else None,
                "prefix": token.prefix,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, secret


def api_token_revoke(*, token: ApiToken, revoked_by: Any = None) -> ApiToken:
    """Revoke a token; idempotent (a revoked token keeps its first revocation time)."""
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
        if updated:
            audit_record(
                action="api_token.revoked",
                actor=revoked_by,
                organization=token.organization,
                target=token,
                data={"prefix": token.prefix},
            )
    return token


def api_token_resolve(secret: str) -> ApiToken | None:
    """The active token with this secret, or None. Records when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("organization", "fleet")
        .filter(key_hash=_digest(secret))
        .first()
    )
    if token is None or not token.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
