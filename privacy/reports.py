"""The private fine-tuning section of a tenant's compliance period report: every job of the period with its
dataset, guarantee, the dataset's ledger total, what its training images have spent in all (the max over them
of each image's ε composed over every job that trained on it or a copy: the per-image guarantee, which the
job's own ε understates for a re-used image) and the membership-inference audit with the member definition
it used (every image the model's lineage trained on, ``privacy.lineage``) and its counts (numbers as fixed-decimal
strings, like the rest of the signed report)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from privacy import ledger, unit_ledger, units
from privacy.models import PrivateFinetuneJob
from webapp.accounts.models import Tenant


def _fixed(value: Any) -> str | None:
    return None if value is None else f"{float(value):.4f}"


def _members(mia: dict[str, Any]) -> dict[str, Any] | None:
    """Which images the audit's attack counted as members (``privacy.lineage``), with the counts; None for a
    job audited before the lineage definition, whose members were its own training split."""
    defined = mia.get("members_definition")
    if not defined:
        return None
    return {k: defined.get(k) for k in ("name", "what", "members", "members_this_job", "members_earlier_jobs_only",
                                        "non_members", "holdout_dropped_trained_by_lineage")}


def privacy_jobs_section(tenant: Tenant, start: datetime, end: datetime) -> list[dict[str, Any]]:
    jobs = (PrivateFinetuneJob.objects.filter(tenant=tenant, created_at__gte=start, created_at__lt=end)
            .select_related("dataset").order_by("created_at"))
    budgets: dict[str, ledger.Budget] = {}
    rows = []
    policy = units.tenant_budget(tenant)
    for job in jobs:
        dataset = job.dataset
        if str(dataset.id) not in budgets:
            budgets[str(dataset.id)] = ledger.budget(dataset)
        budget, result = budgets[str(dataset.id)], job.result_card or {}
        reservation = ledger.reservation_of(job)
        mia = result.get("membership_inference", {})
        per_image = unit_ledger.spent_by_units(unit_ledger.trained_units(reservation), policy) if reservation else []
        rows.append({
            "job_id": str(job.id), "state": job.state, "submitted_at": job.created_at.isoformat(),
            "submitted_by": job.created_by, "dataset_id": str(dataset.id), "dataset_name": dataset.name,
            "dataset_sha256": dataset.sha256, "base_detector": job.config.get("base_detector"),
            "target_epsilon": _fixed(job.config.get("target_epsilon")), "delta": f"{job.config.get('delta'):g}",
            "epsilon_reserved": _fixed(reservation.epsilon_job if reservation else None),
            "epsilon_spent": _fixed(result.get("privacy", {}).get("epsilon")),
            "epsilon_per_image_max": _fixed(max(per_image)) if per_image else None,
            "images_trained": len(per_image), "delta_per_image": f"{policy.delta:g}",
            "dataset_ledger": {"epsilon_spent": _fixed(budget.epsilon_spent),
                               "epsilon_total": _fixed(budget.epsilon_total), "delta": f"{budget.delta:g}",
                               "accountant": budget.accountant},
            "mia_auc": {"private": _fixed(mia.get("private", {}).get("auc")),
                        "nonprivate": _fixed(mia.get("nonprivate", {}).get("auc"))},
            "mia_tpr_at_1pct_fpr": {"private": _fixed(mia.get("private", {}).get("tpr_at_1pct_fpr")),
                                    "nonprivate": _fixed(mia.get("nonprivate", {}).get("tpr_at_1pct_fpr"))},
            "mia_members": _members(mia),
            "weights_sha256": result.get("weights_sha256"), "error": job.error or None,
        })
    return rows
