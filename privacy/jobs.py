"""Private fine-tuning jobs: submit (budget reserved or refused, atomically), run, fail, complete.

Life cycle: ``submit_job`` plans the DP mechanism and, in one transaction holding the dataset row, either
reserves it in the ledger and queues the job or records the refusal. A worker (``run_job``, Celery queue
"gpu") claims it, trains the private model (checkpointed every epoch; a re-run resumes from the checkpoint
and takes no second reservation), trains the non-private baseline on the same data and config, runs the
membership-inference audit on both (members: every image the model's lineage trained on, see
``privacy.lineage``), registers the private model as the tenant's active detector version and deletes the
baseline's weights: the non-private model memorises, so it is measured and never kept.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from detectors.cards import card_path, sha256_file
from detectors.device import resolve_device
from detectors.registry import add_detector_modules
from privacy import dataset_store, ledger, lineage, unit_ledger, units
from privacy.accounting import Mechanism
from privacy.checkpoint import STATE as CHECKPOINT_STATE
from privacy.dataset_store import splits, zip_path
from privacy.datasets import load_images
from privacy.mia import audit_models
from privacy.models import DatasetImage, PrivateDataset, PrivateFinetuneJob, TenantDetectorVersion
from privacy.training import FinetuneConfig, FinetuneResult, Progress, finetune, plan
from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle
from webapp.accounts.tenancy import Actor

log = logging.getLogger(__name__)
State = PrivateFinetuneJob.State
WORKER = "system:worker"
TUNABLE = ("base_detector", "target_epsilon", "delta", "epochs", "batch_size", "max_grad_norm", "learning_rate",
           "seed")
# Where each phase sits on the job's overall progress bar.
PHASES = {"loading": (0.0, 0.02), "private": (0.02, 0.5), "baseline": (0.5, 0.9), "audit": (0.9, 1.0)}
PROGRESS_EVERY_SECONDS = 0.5


class JobConfigError(ValueError):
    """The job's parameters cannot work; the message says which and what to change."""


def job_dir(job: PrivateFinetuneJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "privacy" / "jobs" / str(job.id)


def build_config(dataset: PrivateDataset, params: dict[str, Any]) -> FinetuneConfig:
    unknown = sorted(set(params) - set(TUNABLE))
    if unknown:
        raise JobConfigError(f"unknown job parameters {', '.join(unknown)}; allowed: {', '.join(TUNABLE)}")
    values = {k: v for k, v in params.items() if v is not None}
    base = values.get("base_detector", FinetuneConfig.base_detector)
    if base not in settings.FORENSICS_PRIVACY_BASE_DETECTORS:
        raise JobConfigError(f"{base!r} cannot be fine-tuned; choose one of "
                             f"{', '.join(settings.FORENSICS_PRIVACY_BASE_DETECTORS)}")
    if "target_epsilon" not in values:
        raise JobConfigError("a private job needs a target ε (target_epsilon)")
    values.setdefault("delta", dataset.delta)
    if values["delta"] > dataset.delta:
        raise JobConfigError(f"the job's δ={values['delta']:g} is above the dataset's δ={dataset.delta:g}: "
                             "use the dataset's δ or a smaller one")
    return FinetuneConfig(**values, private=True)


def _plan(config: FinetuneConfig, n_train: int) -> Mechanism:
    try:
        mechanism = plan(config, n_train)
    except ValueError as exc:
        raise JobConfigError(str(exc)) from exc
    assert mechanism is not None
    return mechanism


@dataclass(frozen=True)
class TrainingPlan:
    mechanism: Mechanism
    images: list[DatasetImage]   # one per privacy unit, those with budget left when dropping
    excluded: list[str]          # member names of the train split it leaves out
    dropped: int                 # units left out for lack of budget


def plan_training(dataset: PrivateDataset, config: FinetuneConfig, drop_exhausted: bool) -> TrainingPlan:
    """What the job trains on and under which mechanism (before any lock: the noise search takes seconds).

    Dropping changes the sampling rate and so the noise, which can exhaust more units: repeat until no unit
    of the rest is exhausted (the dropped set only grows, so it ends)."""
    dataset_store.ensure_indexed(dataset)
    training, policy = units.training_set(dataset), units.tenant_budget(dataset.tenant)
    dropped: set[int] = set()
    images = training.images
    mechanism = _plan(config, len(images))
    while drop_exhausted:
        states = unit_ledger.assess(policy, dataset, images, mechanism)
        exhausted = {s.unit_id for s in states if s.exhausted}
        rest = training.without(dropped | exhausted)
        if not exhausted or len(rest) < 2:
            break  # nothing to drop, or too little left to train: the admission check below refuses
        dropped |= exhausted
        images, mechanism = rest, _plan(config, len(rest))
    excluded = sorted([d.name for d in training.duplicates]
                      + [i.name for i in training.images if i.unit_id in dropped])
    return TrainingPlan(mechanism, images, excluded, len(dropped))


def submit_job(actor: Actor, dataset: PrivateDataset, *, drop_exhausted: bool = False,
               **params: Any) -> PrivateFinetuneJob:
    """Plan the job, then reserve its budget and queue it, or record why it was refused (state ``refused``).

    The reservation is checked twice: against the dataset's ledger (every job on this upload), and against
    every privacy unit it trains on (every job on that image, a copy or a near-copy, through any upload).
    With ``drop_exhausted`` the units without budget are left out instead of refusing the whole job."""
    if not actor.can("analyse"):
        raise PermissionError("submitting a private fine-tuning job needs the 'analyse' scope")
    if dataset.tenant_id != actor.tenant.id:
        raise PermissionError("this dataset belongs to another tenant")
    config = build_config(dataset, params)
    training = plan_training(dataset, config, drop_exhausted)
    mechanism = training.mechanism
    alone: float | None = ledger.composed([mechanism], dataset)  # outside the lock too (recomputed below if δ changed)
    with transaction.atomic():
        locked = PrivateDataset.objects.select_for_update().get(pk=dataset.pk)
        unit_ledger.lock_units(locked)
        policy = units.tenant_budget(locked.tenant)
        if (locked.delta, locked.accountant) != (dataset.delta, dataset.accountant):
            alone = None
        job = PrivateFinetuneJob.objects.create(tenant=actor.tenant, dataset=locked, config=asdict(config),
                                                private=True, created_by=actor.label,
                                                excluded_members=training.excluded)
        payload = {"job_id": str(job.id), "dataset_id": str(locked.id), "config": job.config,
                   "mechanism": asdict(mechanism), "images": len(training.images),
                   "excluded_images": len(training.excluded), "dropped_units": training.dropped}
        try:
            with transaction.atomic():  # a refusal by the units undoes the dataset's entry too
                entry = ledger.reserve(locked, job, mechanism, actor.label, alone, enforce=not drop_exhausted)
                states = unit_ledger.assess(policy, locked, training.images, mechanism)
                unit_ledger.check(states, policy, unit_ledger.composer(policy)(unit_ledger.merged([mechanism])))
                unit_ledger.record(entry, states)
        except (ledger.BudgetExceeded, unit_ledger.UnitBudgetExceeded) as exc:
            job.state, job.error, job.finished_at = State.REFUSED, str(exc), timezone.now()
            job.save(update_fields=["state", "error", "finished_at"])
            exhausted = getattr(exc, "exhausted", [])
            append_event(actor.tenant, actor.label, "privacy.job_refused", payload={
                **payload, "reason": str(exc), "exhausted_units": len(exhausted),
                "exhausted_unit_ids": [s.unit_id for s in exhausted[:50]]})
            log.info("private job refused", extra={"job": str(job.id), "reason": str(exc)})
            return job
        append_event(actor.tenant, actor.label, "privacy.job_submitted", payload={
            **payload, "epsilon_job": entry.epsilon_job, "epsilon_composed": entry.epsilon_composed,
            "epsilon_total": locked.epsilon_total, "delta": locked.delta, "accountant": entry.accountant,
            "epsilon_per_image_max": max((s.epsilon_after for s in states), default=0.0),
            "tenant_delta": policy.delta})
        transaction.on_commit(lambda: enqueue(job))
    return job


def enqueue(job: PrivateFinetuneJob) -> None:
    """Hand the job to the gpu queue; if the broker is down it stays queued and the sweeper sends it again."""
    lifecycle.send("privacy.tasks.run_private_finetune", job.id, "private job")


def claim(job_id: str, *, redelivered: bool = False) -> PrivateFinetuneJob | None:
    """The job, now ``running`` on this worker (``webapp.job_lifecycle.claim``; its progress, and so its
    checkpoint's epoch, is kept); None if another worker has it, it is finished, or it gave up."""
    job = lifecycle.claim(PrivateFinetuneJob, job_id, redelivered=redelivered, stage="loading", progress=None,
                          give_up=fail, related=("tenant", "dataset"))
    if job is not None:
        append_event(job.tenant, WORKER, "privacy.job_started", payload={
            "job_id": str(job.id), "attempt": job.attempts,
            "resuming": (job_dir(job) / "private" / CHECKPOINT_STATE).exists()})
    return job


class ProgressRecorder:
    """``on_progress`` for finetune(): live progress in the job row (also its heartbeat), epochs in the audit trail."""

    def __init__(self, job: PrivateFinetuneJob) -> None:
        self.job, self.phase, self.last_write = job, "loading", 0.0
        self.state: dict[str, Any] = {**job.progress}

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.write({"phase": phase, "fraction": PHASES[phase][0]}, force=True)

    def write(self, values: dict[str, Any], force: bool = False) -> None:
        lifecycle.check_deadline(self.job)  # at every step, not only when the row is written
        self.state.update(values)
        now = time.monotonic()
        if force or now - self.last_write >= PROGRESS_EVERY_SECONDS:
            self.last_write = now
            lifecycle.beat(self.job, self.phase, dict(self.state))

    def __call__(self, p: Progress) -> None:
        """Top-level epoch/loss/accuracy/epsilon are the private run's; the baseline's go under "baseline"."""
        start, end = PHASES[self.phase]
        epoch_done = p.step * p.epochs == p.epoch * p.steps_total
        values: dict[str, Any] = {"epoch": p.epoch, "epochs": p.epochs, "step": p.step,
                                  "steps_total": p.steps_total, "loss": round(p.loss, 5),
                                  "accuracy": round(p.accuracy, 4)}
        update: dict[str, Any]
        if self.phase == "private":
            values.update(epsilon=round(p.epsilon, 4), dp_steps=max(p.step, self.state.get("dp_steps", 0)))
            update = values
        else:
            update = {"baseline": values}
        update.update(phase=self.phase, fraction=round(start + (end - start) * p.step / max(p.steps_total, 1), 4))
        self.write(update, force=epoch_done)
        if epoch_done and self.phase == "private":
            append_event(self.job.tenant, WORKER, "privacy.job_progress", payload={
                "job_id": str(self.job.id), "epoch": p.epoch, "epochs": p.epochs, "loss": values["loss"],
                "accuracy": values["accuracy"], "epsilon_spent": values["epsilon"]})


def run_job(job_id: str, *, redelivered: bool = False) -> None:
    job = claim(job_id, redelivered=redelivered)
    if job is None:
        return
    try:
        _train_audit_register(job)
    except Exception as exc:  # noqa: BLE001 - every job must end in a recorded state
        lifecycle.fail(job, exc, end=fail)


def _check_spend(result: FinetuneResult, planned: Mechanism) -> None:
    """The trained mechanism must be exactly the reserved one: never register a model that spent more."""
    history = result.card.get("privacy", {}).get("accountant_history", [])
    same = all(h[0] == planned.noise_multiplier and h[1] == planned.sample_rate for h in history)
    if result.mechanism != planned or not same or sum(int(h[2]) for h in history) != planned.steps:
        raise RuntimeError(f"the run's accountant history {history} differs from the reserved mechanism "
                           f"{asdict(planned)}; the model is not registered")


def _train_audit_register(job: PrivateFinetuneJob) -> None:
    recorder = ProgressRecorder(job)
    recorder.enter("loading")
    add_detector_modules(settings.FORENSICS_DETECTOR_PLUGINS)  # a deployer's base detector may be a plugin
    reservation = ledger.reservation_of(job)
    if reservation is None:
        raise RuntimeError("the job has no budget reservation; it cannot train")
    planned = ledger.mechanism_of(reservation)
    train_members, holdout_members = splits(job.dataset)
    excluded = set(job.excluded_members)  # fixed at submission: what the reservation's sampling rate assumes
    train_members = [m for m in train_members if m.name not in excluded]
    train = load_images(zip_path(job.dataset), train_members)
    holdout = load_images(zip_path(job.dataset), holdout_members)
    config = FinetuneConfig(**job.config)
    device, models_dir, workdir = resolve_device(settings.FORENSICS_DEVICE), Path(settings.MODELS_DIR), job_dir(job)

    recorder.enter("private")
    private = finetune(config, train, holdout, workdir / "private", models_dir, on_progress=recorder, device=device)
    _check_spend(private, planned)
    recorder.enter("baseline")
    baseline_config = replace(config, private=False, target_epsilon=None)
    baseline = finetune(baseline_config, train, holdout, workdir / "baseline", models_dir, on_progress=recorder,
                        device=device)
    recorder.enter("audit")
    audit = lineage_audit(job, config, private, baseline, device)
    card = {**private.card, "comparison_nonprivate": _comparison(private, baseline),
            "membership_inference_audit": audit}
    card["privacy"] = {**card["privacy"], "per_image": per_image_spend(reservation)}
    complete(job, private, card, audit)


def lineage_audit(job: PrivateFinetuneJob, config: FinetuneConfig, private: FinetuneResult,
                  baseline: FinetuneResult, device: str) -> dict[str, Any]:
    """The membership-inference audit against the composed leakage: members are the units any job of the
    model's lineage trained on, non-members holdout images none of them did (``privacy.lineage``)."""
    sets = lineage.audit_sets(job)
    if not sets.members or not sets.non_members:  # the model is still registered; the card says why no audit
        return {"base_detector": config.base_detector, "members_definition": sets.definition(), "private": None,
                "nonprivate": None, "this_job_members": {}, "private_closer_to_chance": None,
                "skipped": "no holdout image is left that no job of the lineage trained on" if sets.members
                           else "the lineage trained on no image"}
    return audit_models(config.base_detector, private.weights_path, baseline.weights_path,
                        lineage.load(sets.members), lineage.load(sets.non_members), device, own=sets.own,
                        definition=sets.definition())


def per_image_spend(reservation: ledger.BudgetLedgerEntry) -> dict[str, Any]:
    """What the model's training images have spent in all, through every job on them or their copies: the
    guarantee a reader of the card needs, which the job's own ε understates when an image was used before."""
    policy = units.tenant_budget(reservation.dataset.tenant)
    spent = unit_ledger.spent_by_units(unit_ledger.trained_units(reservation), policy)
    return {"what": "each training image's ε composed over every job that trained on it, a byte copy or a PDQ "
                    "near-copy (any dataset of this tenant), at the tenant's δ; max is the guarantee",
            "units": len(spent), "epsilon": unit_ledger.spread(spent), "delta": policy.delta,
            "accountant": policy.accountant}


def _comparison(private: FinetuneResult, baseline: FinetuneResult) -> dict[str, Any]:
    return {"what": "the same base model, data, split, config and seed, trained without DP; it never serves and "
                    "its weights are deleted after the audit",
            "metrics_holdout": {"private": private.card["metrics_holdout"],
                                "nonprivate": baseline.card["metrics_holdout"],
                                "base": private.card.get("base_metrics_holdout")},
            "training_history": {"private": private.card["training"]["history"],
                                 "nonprivate": baseline.card["training"]["history"]}}


def _result_card(version: TenantDetectorVersion, card: dict[str, Any]) -> dict[str, Any]:
    """What the API and the console show: the guarantee, utility side by side, the attack side by side."""
    p = card["privacy"]
    return {
        "detector": version.detector, "version": version.version, "weights_sha256": version.sha256,
        "detector_version_id": str(version.id),
        "privacy": {k: p.get(k) for k in ("epsilon", "delta", "target_epsilon", "accountant", "noise_multiplier",
                                          "sample_rate", "steps", "epochs", "expected_batch_size", "max_grad_norm",
                                          "sampling", "unit_of_privacy", "per_image")},
        "utility_holdout": card["comparison_nonprivate"]["metrics_holdout"],
        "membership_inference": {k: card["membership_inference_audit"].get(k) for k in (
            "private", "nonprivate", "members_definition", "this_job_members", "skipped")
            if k in card["membership_inference_audit"] or k != "skipped"},
        "training_data": card.get("training_data", {}),
        "resumed_at_epochs": card.get("training", {}).get("resumed_at_epochs", []),
    }


def _publish(job: PrivateFinetuneJob, result: FinetuneResult, card: dict[str, Any]) -> tuple[str, str]:
    """Copy the private weights, with the augmented card beside them, out of the job's scratch folder."""
    rel = f"privacy/models/{job.tenant.slug}/{job.id}/{result.weights_path.name}"
    target = Path(settings.MEDIA_ROOT) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.weights_path, target)
    sha = sha256_file(target)
    if sha != card["weights_sha256"]:
        raise RuntimeError(f"{target} does not match its card's SHA-256; the copy is corrupt")
    card_path(target).write_text(json.dumps(card, indent=2) + "\n")
    return rel, sha


def complete(job: PrivateFinetuneJob, result: FinetuneResult, card: dict[str, Any], audit: dict[str, Any]) -> None:
    rel, sha = _publish(job, result, card)
    detector = job.config["base_detector"]
    with transaction.atomic():
        version = TenantDetectorVersion.objects.filter(source_job=job).first()
        if version is None:
            TenantDetectorVersion.objects.filter(tenant=job.tenant, detector=detector, active=True).update(
                active=False)
            version = TenantDetectorVersion.objects.create(
                tenant=job.tenant, detector=detector, version=card["version"], weights_path=rel, sha256=sha,
                card=card, source_job=job, active=True)
        result_card = _result_card(version, card)
        if not lifecycle.finish(job, State.DONE, result_card=result_card, mia_audit=audit,
                                heartbeat_at=timezone.now(), progress={**job.progress, "phase": "done",
                                                                       "fraction": 1.0}):
            transaction.set_rollback(True)  # it ended meanwhile (given up by the sweeper): register nothing
            log.warning("private job had already ended; its model is not registered", extra={"job": str(job.id)})
            return
        p = result_card["privacy"]
        append_event(job.tenant, WORKER, "privacy.job_completed", payload={
            "job_id": str(job.id), "dataset_id": str(job.dataset_id), "detector_version_id": str(version.id),
            "epsilon": p["epsilon"], "delta": p["delta"], "accountant": p["accountant"],
            "mechanism": {"noise_multiplier": p["noise_multiplier"], "sample_rate": p["sample_rate"],
                          "steps": p["steps"]},
            "weights_sha256": sha, "utility_holdout": result_card["utility_holdout"],
            "membership_inference_auc": {k: (result_card["membership_inference"][k] or {}).get("auc")
                                         for k in ("private", "nonprivate")},
            "membership_inference_members": {k: (result_card["membership_inference"]["members_definition"] or {})
                                             .get(k) for k in ("name", "members", "members_this_job",
                                                               "non_members")}},
            model_versions=[{"name": detector, "version": version.version, "weights_sha256": sha,
                             "tenant_specific": True}])
    shutil.rmtree(job_dir(job), ignore_errors=True)  # checkpoints and the non-private baseline's weights
    log.info("private job done", extra={"job": str(job.id), "epsilon": result.epsilon, "weights_sha256": sha})


def took_a_dp_step(job: PrivateFinetuneJob) -> bool:
    """Conservative: any recorded DP step or any checkpoint counts as budget spent."""
    job.refresh_from_db(fields=["progress"])
    return bool(job.progress.get("dp_steps")) or (job_dir(job) / "private" / CHECKPOINT_STATE).exists()


def fail(job: PrivateFinetuneJob, reason: str) -> None:
    """End the job as failed; its reservation is released only if it never took a DP step."""
    spent = took_a_dp_step(job)
    with transaction.atomic():
        if not lifecycle.finish(job, State.FAILED, error=reason[:2000]):
            return
        reason = job.error  # past its deadline: the time limit
        released = None if spent else ledger.release(job, WORKER, f"failed before its first DP step: {reason}")
        append_event(job.tenant, WORKER, "privacy.job_failed", payload={
            "job_id": str(job.id), "dataset_id": str(job.dataset_id), "error": reason[:2000],
            "attempts": job.attempts, "budget_released": released is not None,
            "epsilon_composed_after": released.epsilon_composed if released else None})
    shutil.rmtree(job_dir(job), ignore_errors=True)  # a failed job never resumes; drop the baseline's weights too
    log.warning("private job failed", extra={"job": str(job.id), "error": reason, "budget_released": not spent})
