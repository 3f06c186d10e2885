"""The tenant's per-image privacy budget: set by a tenant admin, audited, and the ceiling of every dataset's.

A dataset's budget can only lower it (``dataset_store`` refuses one above it). δ is fixed once any job has
reserved budget against the tenant's units, because every unit is composed at that one δ.
"""
from __future__ import annotations

from typing import Any, SupportsFloat, cast

from django.db import transaction

from privacy.accounting import ACCOUNTANTS
from privacy.models import PrivateDataset, TenantPrivacyBudget, UnitReservation
from privacy.units import lock_tenant_budget
from provenance.audit import append_event
from webapp.accounts.tenancy import Actor

UNSET = object()


def set_tenant_budget(actor: Actor, *, epsilon_total: float | None | object = UNSET, delta: float | None = None,
                      accountant: str | None = None) -> TenantPrivacyBudget:
    """Set the per-image ε (None removes the tenant's own cap), δ and accountant of the tenant's units."""
    if not actor.can("admin"):
        raise PermissionError("only a tenant admin can set the tenant's privacy budget")
    # UNSET (leave the cap as it is) is a sentinel object; anything else is a number or None (no cap).
    cap = None if epsilon_total is UNSET or epsilon_total is None else float(cast(SupportsFloat, epsilon_total))
    if cap is not None and not cap >= 0:
        raise ValueError(f"the per-image ε must be 0 or more, got {epsilon_total}")
    if delta is not None and not 0 < delta < 1:
        raise ValueError(f"δ must be between 0 and 1, got {delta}")
    if accountant is not None and accountant not in ACCOUNTANTS:
        raise ValueError(f"unknown accountant {accountant!r}: use one of {', '.join(ACCOUNTANTS)}")
    with transaction.atomic():
        policy = lock_tenant_budget(actor.tenant)
        before = {"epsilon_total": policy.epsilon_total, "delta": policy.delta, "accountant": policy.accountant}
        composing = UnitReservation.objects.filter(unit__tenant=actor.tenant).exists()
        if composing and ((delta is not None and delta != policy.delta)
                          or (accountant is not None and accountant != policy.accountant)):
            raise ValueError("δ and the accountant cannot change once jobs have reserved budget against the "
                             "tenant's images: every image is composed at one δ")
        if epsilon_total is not UNSET:
            policy.epsilon_total = cap
        policy.delta = delta if delta is not None else policy.delta
        policy.accountant = accountant or policy.accountant
        policy.save()
        above = PrivateDataset.objects.filter(tenant=actor.tenant, epsilon_total__gt=policy.epsilon_total).count() \
            if policy.epsilon_total is not None else 0
        append_event(actor.tenant, actor.label, "privacy.tenant_budget_set", payload={
            "before": before, "after": {"epsilon_total": policy.epsilon_total, "delta": policy.delta,
                                        "accountant": policy.accountant},
            "datasets_capped_by_it": above})
    return policy


def describe(policy: TenantPrivacyBudget) -> dict[str, Any]:
    """The budget as the API and the console show it."""
    capped = (PrivateDataset.objects.filter(tenant_id=policy.tenant_id, epsilon_total__gt=policy.epsilon_total)
              .count() if policy.epsilon_total is not None else 0)
    return {"epsilon_per_image": policy.epsilon_total, "delta": policy.delta, "accountant": policy.accountant,
            "delta_fixed": UnitReservation.objects.filter(unit__tenant_id=policy.tenant_id).exists(),
            "datasets_above": capped, "updated_at": policy.updated_at}
