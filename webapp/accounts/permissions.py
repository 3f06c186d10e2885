"""DRF permissions: a request must resolve to a tenant, and hold the scope the view needs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

from webapp.accounts.tenancy import actor_for_request

if TYPE_CHECKING:  # DRF loads this module while rest_framework.views is still importing
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsTenantMember(BasePermission):
    message = "Authenticate with an API key or a user that belongs to a tenant."

    def has_permission(self, request: Request, view: APIView) -> bool:
        actor = actor_for_request(request)
        if actor is None:
            return False
        request.actor = actor  # type: ignore[attr-defined]  # the views' tenant and scopes; DRF's Request has no slot
        needed = getattr(view, "required_scopes", {}).get(request.method, "read")
        if not actor.can(needed):
            self.message = f"This credential lacks the '{needed}' scope."
            return False
        return True
