"""Rate limits for the public early-access forms, counted in the shared cache.

Fixed windows: one counter per (scope, value, window) that expires with its window. The cache
is Redis in production, so every web process counts against the same limit; counters are
keyed by a keyed hash of the value, so neither addresses nor emails sit in the cache in clear.
"""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

KEY_PREFIX = "earlyaccess:rate"


def client_address(request: HttpRequest) -> str:
    """The client's address as our trusted proxies saw it; IPv6 clients by their /64, since one
    host usually holds a whole /64."""
    raw = request.META.get("REMOTE_ADDR", "")
    proxies = settings.EARLY_ACCESS_TRUSTED_PROXIES
    if proxies > 0:
        # Each trusted proxy appends the address it received from; the right-most entries are
        # theirs, anything further left the client could have written itself.
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            raw = hops[-proxies]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64] or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def rate_limit_consume(*, scope: str, value: str, limit: int) -> bool:
    """Count one attempt for `value` in `scope`; True while it is within `limit` per window.

    Counts even refused attempts, so hammering does not reopen the window early."""
    window = settings.EARLY_ACCESS_RATE_WINDOW_SECONDS
    bucket = int(time.time() // window)
    digest = salted_hmac(KEY_PREFIX, f"{scope}:{value}").hexdigest()[:32]
    key = f"{KEY_PREFIX}:{scope}:{bucket}:{digest}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first attempt of the next
        cache.add(key, 1, timeout=window)
        count = 1
    return count <= limit
