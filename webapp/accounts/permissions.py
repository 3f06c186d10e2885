"""DRF permissions: a request must resolve to a tenant, and hold the scope the view needs."""
from __future__ import annotations

from rest_framework.permissions import BasePermission

from webapp.accounts.tenancy import actor_for_request


class IsTenantMember(BasePermission):
    message = "Authenticate with an API key or a user that belongs to a tenant."

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        actor = actor_for_request(request)
        if actor is None:
            return False
        request.actor = actor
        needed = getattr(view, "required_scopes", {}).get(request.method, "read")
        if not actor.can(needed):
            self.message = f"This credential lacks the '{needed}' scope."
            return False
        return True
