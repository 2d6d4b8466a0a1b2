"""DRF authentication by `Authorization: Bearer <token>`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.accounts.tokens import api_token_resolve


class TokenUser(AnonymousUser):
    """The request user for token requests: authenticated, but no person and no session."""

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return "api-token"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Authorization header must be 'Bearer <token>' with no spaces in the token."
            )
        token = api_token_resolve(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown, expired or revoked API token.")
        return TokenUser(), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
