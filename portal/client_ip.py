"""The client's address, as the reverse proxies we trust saw it.

One rule for everything that counts requests per address (the sign-in throttle, the
early-access rate limits): X-Forwarded-For is read only as far as TRUSTED_PROXIES says. Each
trusted proxy appends the address it received from, so the right-most entries are theirs;
anything further left the client could have written itself, to escape a limit by inventing a
new address for every attempt.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address, or None when what we were given is not an address."""
    raw = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            raw = hops[-proxies]
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        return None
