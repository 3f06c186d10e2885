from __future__ import annotations

from typing import Any

from webapp.accounts.tenancy import actor_for_request


def tenant(request) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    actor = actor_for_request(request)
    return {"actor": actor, "current_tenant": actor.tenant if actor else None}
