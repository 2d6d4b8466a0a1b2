"""Signed, expiring links sent in early-access emails.

A link carries a token made by `TimestampSigner` with one salt per purpose, so a link made for
one purpose (say, downloading your data) is refused by every other (say, erasing it). Tokens
name registrations and users by id only: a token is readable base64, and must not carry an
address. Nothing is stored: a token is valid while its signature is and it is younger than its
purpose's maximum age; the confirmation token also names the registration's current nonce,
so only the latest confirmation link works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

CONFIRM = "confirm"
DATA = "data"
ERASE = "erase"
INVITATION = "invitation"


@dataclass(frozen=True)
class _Purpose:
    salt: str
    url_name: str
    setting: str  # the setting that holds the maximum age
    unit_seconds: int


_PURPOSES = {
    CONFIRM: _Purpose(
        "earlyaccess.confirm", "earlyaccess:confirm", "EARLY_ACCESS_CONFIRM_HOURS", 3600
    ),
    DATA: _Purpose("earlyaccess.data", "earlyaccess:data", "EARLY_ACCESS_DATA_LINK_DAYS", 86400),
    ERASE: _Purpose(
        "earlyaccess.erase", "earlyaccess:erase-confirm", "EARLY_ACCESS_CONFIRM_HOURS", 3600
    ),
    INVITATION: _Purpose(
        "earlyaccess.invitation", "earlyaccess:invitation", "EARLY_ACCESS_INVITATION_DAYS", 86400
    ),
}


class LinkInvalid(Exception):
    """The token is not one we made for this purpose, or it is too old (`expired`)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def max_age_seconds(purpose: str) -> int:
    spec = _PURPOSES[purpose]
    return int(getattr(settings, spec.setting)) * spec.unit_seconds


def link_token(*, purpose: str, payload: dict[str, Any]) -> str:
    """A token for `payload` (ids only), valid for `purpose` until its maximum age."""
    return signing.TimestampSigner(salt=_PURPOSES[purpose].salt).sign_object(payload)


def link_read(*, purpose: str, token: str) -> dict[str, Any]:
    """The payload of a token made for `purpose`; `LinkInvalid` if forged, mangled or old."""
    if not token or len(token) > 1000:
        raise LinkInvalid(expired=False)
    signer = signing.TimestampSigner(salt=_PURPOSES[purpose].salt)
    try:
        payload = signer.unsign_object(token, max_age=max_age_seconds(purpose))
    except signing.SignatureExpired:
        raise LinkInvalid(expired=True) from None
    except (signing.BadSignature, ValueError):
        raise LinkInvalid(expired=False) from None
    if not isinstance(payload, dict):
        raise LinkInvalid(expired=False)
    return payload


def link_url(*, purpose: str, payload: dict[str, Any]) -> str:
    """The absolute URL (on SITE_URL) that opens the page for `purpose` with a fresh token."""
    token = link_token(purpose=purpose, payload=payload)
    path = reverse(_PURPOSES[purpose].url_name)
    return f"{settings.SITE_URL}{path}?{urlencode({'t': token})}"
