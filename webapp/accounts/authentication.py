"""DRF authentication by API key (``Authorization: Bearer fk_...`` or ``X-API-Key``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from webapp.accounts.keys import resolve_api_key
from webapp.accounts.models import ApiKey

if TYPE_CHECKING:  # DRF loads this module from its settings, while its own modules are importing
    from rest_framework.request import Request


class ApiKeyUser(AnonymousUser):
    """The request's user when it authenticated with an API key: no person, one tenant."""

    def __init__(self, api_key: ApiKey) -> None:
        super().__init__()
        self.api_key = api_key

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]  # AnonymousUser's is a constant False
        return True

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        raw = request.META.get("HTTP_X_API_KEY", "")
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not raw and header.startswith(f"{self.keyword} "):
            raw = header[len(self.keyword) + 1 :].strip()
        if not raw:
            return None
        key = resolve_api_key(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
