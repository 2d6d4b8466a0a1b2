"""Liveness and readiness probes."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    return None


def _check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}"
    return None


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """503 unless the database (and the broker, when one is configured) answer."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    problems = {name: msg for name, msg in checks.items() if msg}
    body = {
        "status": "unavailable" if problems else "ok",
        "database": checks["database"] or "ok",
        "broker": checks["broker"] or ("ok" if settings.REDIS_URL else "not configured"),
    }
    return JsonResponse(body, status=503 if problems else 200)
