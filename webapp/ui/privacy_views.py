"""Console pages for private fine-tuning: the tenant's per-image budget (set by tenant admins), datasets with
their budget and ledger, job submission, live
progress and the result card (private vs non-private utility and membership-inference AUC side by side)."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from forensics.ingest.errors import IngestError
from privacy import dataset_store, jobs, ledger
from privacy.datasets import DatasetError
from privacy.models import BudgetLedgerEntry, PrivateDataset, PrivateFinetuneJob, TenantDetectorVersion
from privacy.presenters import dataset_to_dict
from privacy.tenant_budget import describe, set_tenant_budget
from privacy.units import tenant_budget
from webapp.accounts.tenancy import Actor, get_scoped_or_404, scoped
from webapp.api.privacy_serializers import (
    BudgetSerializer,
    DatasetCreateSerializer,
    JobCreateSerializer,
    TenantBudgetSetSerializer,
)
from webapp.ui.access import console_actor

PENDING = (PrivateFinetuneJob.State.QUEUED, PrivateFinetuneJob.State.RUNNING)


def _fields(request: HttpRequest, names: tuple[str, ...]) -> dict[str, Any]:
    """The named form fields that were filled in (StrictSerializer refuses the CSRF token and blanks)."""
    return {name: request.POST[name] for name in names if request.POST.get(name, "").strip()}


@login_required
@require_http_methods(["GET", "POST"])
def privacy_home(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        actor = console_actor(request, "analyse")
        data = _fields(request, ("name", "epsilon_total", "delta", "accountant"))
        if "file" in request.FILES:
            data["file"] = request.FILES["file"]
        form = DatasetCreateSerializer(data=data)
        if form.is_valid():
            v = form.validated_data
            budget = {k: v[k] for k in ("epsilon_total", "delta") if k in v}
            try:
                dataset = dataset_store.create_dataset(actor, v["file"].chunks(), v["name"],
                                                       accountant=v["accountant"], **budget)
            except (DatasetError, IngestError, ValueError, PermissionError) as exc:
                errors = {"file": [str(exc)]}
            else:
                messages.success(request, f"Dataset “{dataset.name}” validated and stored.")
                return redirect("ui:privacy_dataset", pk=dataset.pk)
        else:
            errors = form.errors
    return _home_page(request, actor, errors, {})


def _home_page(request: HttpRequest, actor: Actor, errors: dict[str, Any],
               budget_errors: dict[str, Any]) -> HttpResponse:
    datasets = [dataset_to_dict(d) for d in scoped(PrivateDataset, actor)[:50]]
    recent = scoped(PrivateFinetuneJob, actor).select_related("dataset")[:20]
    versions = scoped(TenantDetectorVersion, actor)[:20]
    return render(request, "ui/privacy.html", {
        "datasets": datasets, "jobs": recent, "versions": versions, "errors": errors,
        "pending": any(j.state in PENDING for j in recent),
        "tenant_budget": describe(tenant_budget(actor.tenant)), "budget_errors": budget_errors,
        "can_admin": actor.can("admin"),
    }, status=400 if errors or budget_errors else 200)


@login_required
@require_POST
def privacy_tenant_budget(request: HttpRequest) -> HttpResponse:
    """Set the tenant's per-image budget (tenant admins; audited as ``privacy.tenant_budget_set``)."""
    actor = console_actor(request, "admin")
    data = _fields(request, ("epsilon_per_image", "delta"))
    if request.POST.get("no_cap"):
        data["epsilon_per_image"] = None
    elif "epsilon_per_image" not in data:
        return _home_page(request, actor, {}, {"epsilon_per_image": [
            "Give the per-image ε, or tick “no tenant cap”."]})
    form = TenantBudgetSetSerializer(data=data)
    if not form.is_valid():
        return _home_page(request, actor, {}, form.errors)
    v = form.validated_data
    try:
        set_tenant_budget(actor, epsilon_total=v["epsilon_per_image"], delta=v.get("delta"))
    except (ValueError, PermissionError) as exc:
        return _home_page(request, actor, {}, {"budget": [str(exc)]})
    messages.success(request, "Per-image privacy budget updated (recorded in the audit trail).")
    return redirect("ui:privacy")


@login_required
def privacy_dataset(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request)
    dataset = get_scoped_or_404(PrivateDataset, actor, pk=pk)
    return _dataset_page(request, actor, dataset, {})


def _dataset_page(request: HttpRequest, actor: Actor, dataset: PrivateDataset, errors: dict[str, Any],
                  status: int = 200) -> HttpResponse:
    dataset_jobs = dataset.jobs.all()[:50]
    return render(request, "ui/privacy_dataset.html", {
        "dataset": dataset, "info": dataset_to_dict(dataset), "budget": ledger.budget(dataset),
        "entries": BudgetLedgerEntry.objects.filter(dataset=dataset).order_by("id"), "jobs": dataset_jobs,
        "errors": errors, "pending": any(j.state in PENDING for j in dataset_jobs),
        "can_admin": actor.can("admin"), "can_submit": actor.can("analyse"),
    }, status=status)


@login_required
@require_POST
def privacy_submit(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, "analyse")
    dataset = get_scoped_or_404(PrivateDataset, actor, pk=pk)
    form = JobCreateSerializer(data={**_fields(request, ("target_epsilon", "delta", "epochs", "batch_size",
                                                         "max_grad_norm", "learning_rate", "seed")),
                                     "dataset": str(dataset.pk)})
    if not form.is_valid():
        return _dataset_page(request, actor, dataset, form.errors, 400)
    params = dict(form.validated_data)
    params.pop("dataset")
    try:
        job = jobs.submit_job(actor, dataset, **params)
    except (ValueError, PermissionError) as exc:
        return _dataset_page(request, actor, dataset, {"job": [str(exc)]}, 400)
    if job.state == PrivateFinetuneJob.State.REFUSED:
        messages.error(request, f"Refused: {job.error}")
        return redirect("ui:privacy_dataset", pk=dataset.pk)
    messages.success(request, "Job queued; its budget is reserved in the ledger.")
    return redirect("ui:privacy_job", pk=job.pk)


@login_required
@require_POST
def privacy_budget(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, "admin")
    dataset = get_scoped_or_404(PrivateDataset, actor, pk=pk)
    form = BudgetSerializer(data=_fields(request, ("epsilon_total", "delta")))
    if not form.is_valid():
        return _dataset_page(request, actor, dataset, form.errors, 400)
    try:
        dataset_store.set_budget(actor, dataset, **form.validated_data)
    except (ValueError, PermissionError) as exc:
        return _dataset_page(request, actor, dataset, {"budget": [str(exc)]}, 400)
    messages.success(request, "Budget updated (recorded in the audit trail).")
    return redirect("ui:privacy_dataset", pk=dataset.pk)


@login_required
def privacy_job(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request)
    job = get_scoped_or_404(PrivateFinetuneJob.objects.select_related("dataset"), actor, pk=pk)
    result = job.result_card or {}
    rows = []
    if result:
        utility, mia = result["utility_holdout"], result["membership_inference"]
        for label, key in (("Holdout AUROC", "auroc"), ("Holdout accuracy", "accuracy"),
                           ("Holdout TPR at 1% FPR", "tpr_at_1pct_fpr")):
            rows.append((label, utility["private"].get(key), utility["nonprivate"].get(key),
                         (utility.get("base") or {}).get(key)))
        for label, key in (("Membership-inference AUC (0.5 = no leak)", "auc"),
                           ("Attack TPR at 1% FPR", "tpr_at_1pct_fpr"), ("Attack TPR at 0.1% FPR", "tpr_at_01pct_fpr")):
            if mia.get("private"):
                rows.append((label, mia["private"].get(key), mia["nonprivate"].get(key), None))
        own = mia.get("this_job_members") or {}
        defined = mia.get("members_definition") or {}
        if own.get("private") and defined.get("members_earlier_jobs_only"):
            rows.append(("Attack AUC on this job's own training images", own["private"].get("auc"),
                         own["nonprivate"].get("auc"), None))
    return render(request, "ui/privacy_job.html", {
        "job": job, "p": job.progress, "result": result, "rows": rows,
        "percent": round(100 * float(job.progress.get("fraction", 0))),
        "pending": job.state in PENDING,
        "reservation": ledger.reservation_of(job),
    })
