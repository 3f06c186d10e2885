"""Who is asking, for the console's views: the signed-in user's tenant actor, with a scope check."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from webapp.accounts.tenancy import Actor, actor_for_request


def console_actor(request: HttpRequest, scope: str = "read") -> Actor:
    """The request's actor, or 403 with what is missing (no tenant, or a role without ``scope``)."""
    actor = actor_for_request(request)
    if actor is None:
        raise PermissionDenied("Your account does not belong to a tenant; ask an admin to add you.")
    if not actor.can(scope):
        raise PermissionDenied(f"Your role cannot do this (needs '{scope}').")
    return actor
