"""Organisation webhooks: creating the endpoint, signing a request, POSTing it.

Requests are signed with HMAC-SHA256 of the raw body under the endpoint's secret, sent as
`X-Patchproof-Signature: sha256=<hex>`; receivers recompute it and compare in constant time.
Delivery is at least once: a receiver deduplicates on `X-Patchproof-Delivery`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence.feeds.fetch import FetchError, url_check
from evidence.models import WebhookEndpoint
from portal.accounts.audit import audit_record
from portal.accounts.models import Organization

TIMEOUT = 10  # seconds, connect and each read
MAX_RESPONSE = 64 * 1024  # bytes of the answer read (and thrown away)
_TRANSIENT_STATUS = {408, 425, 429}


class WebhookRefused(ValueError):
    """The webhook URL cannot be used; the message says why."""


class WebhookTransient(Exception):
    """The POST failed in a way worth retrying (timeout, connection error, 5xx, 429)."""


class WebhookFailed(Exception):
    """The POST failed in a way a retry will not fix (4xx, redirect)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A signed POST is for the configured URL only: a redirect is an error, not followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def webhook_url_check(url: str) -> str:
    """`url` if it is an absolute http(s) URL whose host resolves to public addresses only;
    WebhookRefused with the reason otherwise.

    Officers set the URL, and the portal POSTs to it from inside its own network: a URL that
    points at loopback, private, link-local (cloud metadata) or reserved addresses would let
    them probe that network. Checked when the URL is set and again before every POST (DNS may
    change). `WEBHOOK_ALLOW_PRIVATE` lifts the address rule (development, tests, a receiver on
    the same private network by choice).
    """
    try:
        url_check(url)
    except FetchError:
        raise WebhookRefused(
            f"webhook URL {url[:200]!r} refused: only http:// and https:// URLs can receive "
            "notifications"
        ) from None
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise WebhookRefused(
            f"webhook URL refused: the host {host[:100]!r} does not resolve"
        ) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise WebhookRefused(
                f"webhook URL refused: {host[:100]!r} resolves to {address}, a loopback, "
                "private, link-local or reserved address; a webhook must be reachable on the "
                "public internet (set WEBHOOK_ALLOW_PRIVATE=1 to allow internal receivers)"
            )
    return url


def webhook_endpoint_create(
    *, organization: Organization, url: str, actor: Any = None
) -> tuple[WebhookEndpoint, str]:
    """Set the organisation's webhook to `url` with a new secret; returns it and the secret.

    The secret is returned so it can be shown once. Replaces (and re-keys) an existing endpoint:
    there is one per organisation. Refuses non-http(s) URLs with WebhookRefused, changing nothing.
    Recorded in the audit log (without the secret).
    """
    url = webhook_url_check(url.strip())
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint, created = WebhookEndpoint.objects.update_or_create(
            organization=organization,
            defaults={"url": url, "secret": secret, "enabled": True, "created_at": timezone.now()},
        )
        audit_record(
            action="webhook.created" if created else "webhook.replaced",
            actor=actor,
            organization=organization,
            target=endpoint,
            data={"url": url},
        )
    return endpoint, secret


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The `X-Patchproof-Signature` value: `sha256=` and the hex HMAC-SHA256 of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_post(*, url: str, secret: str, body: bytes, event: str, delivery: str) -> int:
    """POST `body` (JSON) to `url`, signed; returns the 2xx status.

    Raises WebhookRefused for a non-http(s) URL, WebhookTransient for timeouts, connection
    errors, 5xx, 408, 425 and 429, WebhookFailed for any other answer (4xx, redirects).
    """
    webhook_url_check(url)
    request = urllib.request.Request(  # noqa: S310 (webhook_url_check: http(s) only)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Patchproof notifications",
            "X-Patchproof-Signature": webhook_signature(secret=secret, body=body),
            "X-Patchproof-Event": event,
            "X-Patchproof-Delivery": delivery,
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            response.read(MAX_RESPONSE)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        message = f"{url}: the receiver answered HTTP {exc.code} {exc.reason}"
        if exc.code >= 500 or exc.code in _TRANSIENT_STATUS:
            raise WebhookTransient(message) from exc
        raise WebhookFailed(message) from exc
    except TimeoutError as exc:
        raise WebhookTransient(f"{url}: no answer within {TIMEOUT} s (timeout)") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise WebhookTransient(f"{url}: no answer within {TIMEOUT} s (timeout)") from exc
        raise WebhookTransient(f"{url}: cannot connect ({exc.reason})") from exc
    except (ConnectionError, OSError) as exc:
        raise WebhookTransient(f"{url}: {exc.__class__.__name__}: {exc}") from exc
