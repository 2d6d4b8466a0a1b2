"""The API's OpenAPI generator: drf-spectacular's, plus the error answers every operation has.

drf-spectacular documents only the success of an operation. Clients (and Schemathesis, which
checks every answer against the schema) also need the errors DRF gives on its own: 400 for
input it refuses, 401 without a valid token, 403 outside the caller's scope, 404 for an object
that does not exist or is not visible, and for a page past the end of a list.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# DRF's ValidationError body: field -> messages, or a list of messages for the request as a whole.
VALIDATION_ERRORS = {
    "anyOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ],
    "description": "What is wrong with the request: messages per field, or for the whole.",
}


class ErrorSerializer(serializers.Serializer[Any]):
    """DRF's error body for authentication, permission and not-found errors."""

    detail = serializers.CharField(help_text="What went wrong, for people.")


class ApiAutoSchema(AutoSchema):
    """AutoSchema that declares 400/401/403/404 where DRF can answer them.

    Codes an operation declares itself (with `extend_schema(responses=...)`) are kept as they
    are: its own description of a 400 is more precise than this generic one."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors: dict[str, Any] = {}
        takes_input = self.method in _WRITE_METHODS or self._has_query_parameters()
        if takes_input:
            errors["400"] = VALIDATION_ERRORS
        if self.get_auth():
            errors["401"] = ErrorSerializer
            errors["403"] = ErrorSerializer
            # An object in the path or named in the body (a fleet, a host, an exposure) that
            # does not exist or is not the caller's, or a page past the end of a list.
            errors["404"] = ErrorSerializer
        for code, body in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(body, code, direction=direction)
        return responses

    def _has_query_parameters(self) -> bool:
        parameters = self._get_parameters()
        return any(p.get("in") == "query" for p in parameters)
