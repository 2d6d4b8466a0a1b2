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

from portal.client_ip import client_ip

KEY_PREFIX = "earlyaccess:rate"


def client_address(request: HttpRequest) -> str:
    """The client's address as our trusted proxies saw it (`portal.client_ip`); IPv6 clients by
    their /64, since one host usually holds a whole /64."""
    address = client_ip(request)
    if address is None:
        return request.META.get("REMOTE_ADDR", "")[:64] or "unknown"
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
