"""When the database is unreachable, pages answer 503 with a plain explanation.

Without this a dropped PostgreSQL connection surfaces as a 500 "something went wrong"; the
truth is simpler (try again shortly) and monitoring should see 503, the status load balancers
and `/readyz` use for "not ready". The page is rendered without a request context: context
processors would reach for the database (the session, the user's organisations) again.
Django reconnects on the next request by itself (CONN_HEALTH_CHECKS), so nothing restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.error("database unavailable serving %s %s: %s", request.method, request.path, exception)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
