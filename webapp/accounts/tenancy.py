"""Who is asking, on behalf of which tenant: the one place that answers it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from webapp.accounts.models import Membership, Role, Tenant

if TYPE_CHECKING:  # DRF loads the permissions that import this module while its own modules are importing
    from rest_framework.request import Request


@dataclass(frozen=True)
class Actor:
    """The subject of an action, as the audit trail records it."""

    tenant: Tenant
    label: str  # "user:alice" or "api-key:ab12cd34" or "system:cli"
    role: str | None
    scopes: frozenset[str]

    def can(self, scope: str) -> bool:
        return scope in self.scopes


_ROLE_SCOPES = {
    Role.MODERATOR: frozenset({"analyse", "read", "review"}),
    Role.COMPLIANCE: frozenset({"read", "export"}),
    Role.ADMIN: frozenset({"analyse", "read", "review", "export", "admin", "webhooks", "calibrate"}),
}


def actor_for_request(request: HttpRequest | Request) -> Actor | None:
    """Resolve the tenant and permissions of a request (API key or session user)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return Actor(api_key.tenant, f"api-key:{api_key.prefix}", None, frozenset(api_key.scopes))
    # The user object lives for one request; the page and its context processor both ask.
    if not hasattr(user, "_forensics_membership"):
        user._forensics_membership = Membership.objects.select_related("tenant").filter(user=user).first()
    membership = user._forensics_membership
    if membership is None:
        return None
    return Actor(membership.tenant, f"user:{user.get_username()}", membership.role, _ROLE_SCOPES[Role(membership.role)])


def system_actor(tenant: Tenant, label: str = "system") -> Actor:
    return Actor(tenant, label, None, frozenset(_ROLE_SCOPES[Role.ADMIN]))


def scoped(source: type[Model] | QuerySet, actor: Actor) -> QuerySet:
    """``source`` (a model or a queryset) limited to the actor's tenant: the one way views scope a query."""
    queryset = source._default_manager.all() if isinstance(source, type) else source
    return queryset.filter(tenant=actor.tenant)


def get_scoped_or_404(source: type[Model] | QuerySet, actor: Actor, **lookup: object) -> Model:
    """The one row of the actor's tenant matching ``lookup``; another tenant's id answers 404, never 403."""
    return get_object_or_404(scoped(source, actor), **lookup)
