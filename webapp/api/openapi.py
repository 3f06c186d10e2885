"""Describes API-key authentication in the OpenAPI schema (Swagger's "Authorize" button, schemathesis)."""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "webapp.accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "fk_<prefix>_<secret>",
                "description": "An API key: `Authorization: Bearer fk_...` (or the `X-API-Key` header)."}
