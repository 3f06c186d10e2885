"""Rate limits per API key (or per logged-in user): 429 with Retry-After beyond the rate."""
from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class PerCredentialThrottle(SimpleRateThrottle):
    scope = "credential"

    def get_cache_key(self, request, view) -> str | None:  # type: ignore[no-untyped-def]
        api_key = getattr(request.user, "api_key", None)
        if api_key is not None:
            ident = f"key:{api_key.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
