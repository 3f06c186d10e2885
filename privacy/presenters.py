"""The one representation of datasets, jobs, ledger entries and versions, shared by the API, console and CLI."""
from __future__ import annotations

from typing import Any

from privacy import ledger, unit_ledger, units
from privacy.models import BudgetLedgerEntry, PrivateDataset, PrivateFinetuneJob, TenantDetectorVersion


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def dataset_to_dict(dataset: PrivateDataset) -> dict[str, Any]:
    budget = ledger.budget(dataset)
    return {
        "id": str(dataset.id), "name": dataset.name, "sha256": dataset.sha256, "size_bytes": dataset.size_bytes,
        "counts": {"real": dataset.n_real, "fake": dataset.n_fake, "train": dataset.n_train,
                   "holdout": dataset.n_holdout},
        "budget": {"epsilon_total": budget.epsilon_total, "epsilon_spent": round(budget.epsilon_spent, 4),
                   "epsilon_left": round(budget.epsilon_left, 4), "delta": budget.delta,
                   "accountant": budget.accountant, "per_image": per_image_budget(dataset)},
        "created_by": dataset.created_by, "created_at": _iso(dataset.created_at),
        "ledger": f"/api/v1/privacy/datasets/{dataset.id}/ledger",
    }


def per_image_budget(dataset: PrivateDataset) -> dict[str, Any] | None:
    """What the dataset's images have left, as a distribution over its privacy units: one number would hide
    that a re-uploaded image may be nearly spent while the new ones are untouched."""
    seen, images = set(), []
    for image in dataset.images.order_by("name"):
        if image.unit_id not in seen:
            seen.add(image.unit_id)
            images.append(image)
    if not images:
        return None  # uploaded before per-image accounting; indexed when its next job is submitted
    policy = units.tenant_budget(dataset.tenant)
    states = unit_ledger.assess(policy, dataset, images, None)
    return {"units": len(states), "epsilon_left": unit_ledger.spread([s.epsilon_left for s in states]),
            "epsilon_spent": unit_ledger.spread([s.epsilon_spent for s in states]),
            "epsilon_total_tenant": policy.epsilon_total, "delta": policy.delta, "accountant": policy.accountant}


def ledger_entry_to_dict(entry: BudgetLedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "job": str(entry.job_id), "kind": entry.kind,
        "mechanism": {"noise_multiplier": entry.noise_multiplier, "sample_rate": entry.sample_rate,
                      "steps": entry.steps},
        "accountant": entry.accountant, "delta": entry.delta, "epsilon_job": round(entry.epsilon_job, 4),
        "epsilon_composed": round(entry.epsilon_composed, 4), "actor": entry.actor, "reason": entry.reason,
        "created_at": _iso(entry.created_at),
    }


def job_to_dict(job: PrivateFinetuneJob) -> dict[str, Any]:
    return {
        "id": str(job.id), "dataset": str(job.dataset_id), "state": job.state, "private": job.private,
        "config": job.config, "progress": job.progress, "attempts": job.attempts, "error": job.error or None,
        "result": job.result_card or None, "mia_audit": job.mia_audit or None, "created_by": job.created_by,
        "created_at": _iso(job.created_at), "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def version_to_dict(version: TenantDetectorVersion) -> dict[str, Any]:
    return {"id": str(version.id), "detector": version.detector, "version": version.version,
            "weights_sha256": version.sha256, "active": version.active, "source_job": str(version.source_job_id),
            "created_at": _iso(version.created_at)}
