"""``manage.py privacy_budget``: show or set a tenant's per-image privacy budget.

Every image of the tenant (with its copies and near-copies) is one privacy unit, and no unit may be composed
past this ε at this δ, whichever datasets it was uploaded in. A dataset's own budget can only lower it.
"""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privacy.tenant_budget import UNSET, set_tenant_budget
from privacy.units import tenant_budget
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor


class Command(BaseCommand):
    help = "Show or set a tenant's per-image privacy budget (ε, δ, accountant)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--epsilon", type=float, help="per-image ε (every job on an image, composed)")
        parser.add_argument("--no-cap", action="store_true", help="remove the tenant's own cap")
        parser.add_argument("--delta", type=float)
        parser.add_argument("--accountant", choices=["rdp", "prv"])

    def handle(self, *args: Any, **o: Any) -> None:
        tenant = Tenant.objects.filter(slug=o["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {o['tenant']!r}")
        epsilon = None if o["no_cap"] else (o["epsilon"] if o["epsilon"] is not None else UNSET)
        if epsilon is UNSET and o["delta"] is None and o["accountant"] is None:
            policy = tenant_budget(tenant)
        else:
            try:
                policy = set_tenant_budget(system_actor(tenant, "system:cli"), epsilon_total=epsilon,
                                           delta=o["delta"], accountant=o["accountant"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"tenant": tenant.slug, "epsilon_per_image": policy.epsilon_total,
                                      "delta": policy.delta, "accountant": policy.accountant}))
