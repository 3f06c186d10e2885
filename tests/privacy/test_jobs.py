"""A private fine-tuning job end to end on CPU, its recovery after a killed worker, and the stale-job sweep."""
from __future__ import annotations

import traceback
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from detectors.cards import sha256_file
from privacy import jobs, ledger
from privacy.dataset_store import zip_path
from privacy.models import BudgetLedgerEntry, PrivateFinetuneJob, TenantDetectorVersion
from privacy.recovery import recover_stale_private_jobs
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.conftest import TEST_PLUGINS, wait_for, wait_until_stale
from tests.support.job_logs import raised_record
from tests.support.privacy_fixtures import upload_dataset

JOB = {"target_epsilon": 3.0, "epochs": 2, "batch_size": 6, "learning_rate": 0.01}


def actions(job: PrivateFinetuneJob) -> list[str]:
    return [e.action for e in AuditEvent.objects.filter(payload__job_id=str(job.id)).order_by("seq")]


def test_a_job_trains_audits_and_registers_a_tenant_version(actor, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, **JOB)
    jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.state == "done", job.error
    reserved = ledger.reservation_of(job)
    card, result = TenantDetectorVersion.objects.get(source_job=job).card, job.result_card
    privacy = result["privacy"]
    # The guarantee in the card is the reserved mechanism, and it is what the run spent.
    assert (privacy["noise_multiplier"], privacy["sample_rate"], privacy["steps"]) == (
        reserved.noise_multiplier, reserved.sample_rate, reserved.steps)
    assert privacy["epsilon"] <= JOB["target_epsilon"] and privacy["epsilon"] == pytest.approx(reserved.epsilon_job,
                                                                                                abs=1e-3)
    assert job.progress["epoch"] == 2 and job.progress["epsilon"] == pytest.approx(privacy["epsilon"], abs=1e-3)
    # Utility of the private model, the non-private baseline and the base model, side by side, on the holdout.
    utility = result["utility_holdout"]
    assert {"private", "nonprivate", "base"} <= set(utility) and utility["private"]["n_real"] == 3
    assert 0 <= utility["private"]["auroc"] <= 1 and 0 <= utility["nonprivate"]["auroc"] <= 1
    mia = result["membership_inference"]
    assert mia["private"]["members"] == 18 and mia["private"]["non_members"] == 6 and 0 <= mia["nonprivate"]["auc"] <= 1
    assert card["membership_inference_audit"]["private"] == mia["private"]
    assert mia["members_definition"]["name"] == "lineage" and mia["members_definition"]["lineage_jobs"] == [str(job.id)]
    assert mia["this_job_members"]["private"] == mia["private"]  # no earlier job: the lineage is this job
    assert card["comparison_nonprivate"]["metrics_holdout"] == utility
    # The registered weights are the card's, and the job's scratch (checkpoints, baseline weights) is gone.
    version = TenantDetectorVersion.objects.get(tenant=actor.tenant, detector="synthetic-image", active=True)
    assert sha256_file(Path(settings.MEDIA_ROOT) / version.weights_path) == version.sha256 == result["weights_sha256"]
    assert not jobs.job_dir(job).exists()
    assert actions(job) == ["privacy.job_submitted", "privacy.job_started", "privacy.job_progress",
                            "privacy.job_progress", "privacy.job_completed"]
    completed = AuditEvent.objects.get(action="privacy.job_completed")
    assert completed.payload["weights_sha256"] == version.sha256 and completed.payload["delta"] == 1e-5
    assert completed.model_versions[0]["weights_sha256"] == version.sha256
    assert verify_chain(actor.tenant).ok


def test_a_stale_job_is_requeued_and_gives_up_after_max_attempts(actor, dataset_zip, settings) -> None:
    settings.FORENSICS_MAX_ATTEMPTS = 2
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, **JOB)
    old = timezone.now() - timedelta(hours=1)
    PrivateFinetuneJob.objects.filter(pk=job.pk).update(state="running", attempts=1, heartbeat_at=old, started_at=old,
                                                        progress={"dp_steps": 2})
    assert recover_stale_private_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert job.state == "queued"
    PrivateFinetuneJob.objects.filter(pk=job.pk).update(state="running", attempts=2, heartbeat_at=old)
    assert recover_stale_private_jobs()["failed"] == 1
    job.refresh_from_db()
    assert job.state == "failed" and "stopped responding 2 times" in job.error
    # It had taken DP steps: the reservation stays spent.
    assert list(BudgetLedgerEntry.objects.filter(job=job).values_list("kind", flat=True)) == ["reserve"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_s_job_resumes_from_its_checkpoint_without_a_second_reservation(
        worker_factory, actor, dataset_zip, clean_ledger, tmp_path, settings) -> None:
    """kill -9 the worker after the first epoch's checkpoint; a new worker's start-up sweep resumes the job."""
    settings.FORENSICS_PRIVACY_BASE_DETECTORS = ["test-gated-training"]
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {"FORENSICS_DETECTOR_PLUGINS": ",".join([*TEST_PLUGINS, "tests.support.privacy_detectors"]),
           "FORENSICS_TEST_TRAIN_GATE_DIR": str(gate), "FORENSICS_TEST_TRAIN_GATE_AFTER": "3",
           "FORENSICS_STALE_AFTER_SECONDS": "2", "FORENSICS_DEVICE": "cpu"}
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, base_detector="test-gated-training", **JOB)  # 3 DP steps per epoch
    first = worker_factory(env)
    wait_for(lambda: any(gate.glob("paused-*")), timeout=180, what="the first worker to finish epoch 1")
    first.kill()
    job.refresh_from_db()
    assert job.state == "running" and job.progress["epoch"] == 1 and job.progress["dp_steps"] == 3

    wait_until_stale(job, 2)  # FORENSICS_STALE_AFTER_SECONDS in the workers
    (gate / "open").touch()
    worker_factory(env)
    wait_for(lambda: PrivateFinetuneJob.objects.get(pk=job.pk).state in ("done", "failed"), timeout=240,
             what="the second worker to finish the job")
    job.refresh_from_db()
    assert job.state == "done", job.error
    assert job.attempts == 2 and job.result_card["resumed_at_epochs"] == [1]
    assert list(BudgetLedgerEntry.objects.filter(job=job).values_list("kind", flat=True)) == ["reserve"]
    assert job.result_card["privacy"]["steps"] == ledger.reservation_of(job).steps
    assert job.result_card["privacy"]["epsilon"] <= JOB["target_epsilon"]
    assert "privacy.job_requeued" in actions(job)
    epochs = AuditEvent.objects.filter(action="privacy.job_progress", payload__job_id=str(job.id)).order_by("seq")
    assert [e.payload["epoch"] for e in epochs] == [1, 2]  # epoch 1 by the killed worker, epoch 2 after resuming
    assert verify_chain(actor.tenant).ok


def test_a_job_past_its_time_limit_fails_with_the_reason_and_keeps_no_unspent_budget(
        actor, dataset_zip, monkeypatch, settings) -> None:
    """The deadline is checked at every progress point (time driven through its clock, not slept)."""
    from webapp import job_lifecycle as lifecycle

    settings.FORENSICS_PRIVATE_JOB_TIME_LIMIT = 30
    now = [1000.0]
    monkeypatch.setattr(lifecycle, "clock", lambda: now[0])
    load = jobs.load_images

    def slow_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        now[0] += 31
        return load(*args, **kwargs)

    monkeypatch.setattr(jobs, "load_images", slow_load)
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, **JOB)
    jobs.run_job(str(job.id))
    job.refresh_from_db()
    reason = "exceeded the 30 s time limit for private fine-tuning jobs (FORENSICS_PRIVATE_JOB_TIME_LIMIT)"
    assert (job.state, job.error, job.attempts) == ("failed", reason, 1)
    failed = AuditEvent.objects.get(action="privacy.job_failed", payload__job_id=str(job.id))
    assert failed.payload["error"] == reason and failed.payload["budget_released"] is True
    assert list(BudgetLedgerEntry.objects.filter(job=job).values_list("kind", flat=True)) == ["reserve", "release"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_s_job_out_of_attempts_fails_with_the_reason_and_its_spent_budget_stays(
        worker_factory, actor, dataset_zip, clean_ledger, tmp_path, settings) -> None:
    """kill -9 the worker after the first epoch with one attempt allowed: the start-up sweep gives up on the job."""
    settings.FORENSICS_PRIVACY_BASE_DETECTORS = ["test-gated-training"]
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {"FORENSICS_DETECTOR_PLUGINS": ",".join([*TEST_PLUGINS, "tests.support.privacy_detectors"]),
           "FORENSICS_TEST_TRAIN_GATE_DIR": str(gate), "FORENSICS_TEST_TRAIN_GATE_AFTER": "3",
           "FORENSICS_STALE_AFTER_SECONDS": "2", "FORENSICS_DEVICE": "cpu", "FORENSICS_MAX_ATTEMPTS": "1"}
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, base_detector="test-gated-training", **JOB)
    first = worker_factory(env)
    wait_for(lambda: any(gate.glob("paused-*")), timeout=180, what="the first worker to finish epoch 1")
    first.kill()
    wait_until_stale(job, 2)  # FORENSICS_STALE_AFTER_SECONDS in the workers
    worker_factory(env)  # its start-up sweep gives up on the job
    wait_for(lambda: PrivateFinetuneJob.objects.get(pk=job.pk).state == "failed", timeout=60,
             what="the sweep to give up on the job")
    job.refresh_from_db()
    assert job.error == "the worker stopped responding 1 times; giving up" and job.attempts == 1
    # It had taken DP steps: the reservation stays spent, and no model is registered.
    assert list(BudgetLedgerEntry.objects.filter(job=job).values_list("kind", flat=True)) == ["reserve"]
    assert not TenantDetectorVersion.objects.filter(source_job=job).exists()
    assert actions(job)[-1] == "privacy.job_failed"
    assert verify_chain(actor.tenant).ok


def test_a_job_whose_stored_dataset_is_gone_fails_with_that_reason_and_a_logged_traceback(
        actor, dataset_zip, caplog) -> None:
    """A storage fault, not a bad upload: failed with its own reason (upload again, or ask the operator), which names
    no server path, the reservation released (no DP step was taken), and the traceback logged once, by the life
    cycle, with the path the operator needs."""
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, **JOB)
    stored = zip_path(dataset)
    stored.unlink()
    jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.state == "failed", job.error
    assert job.error == (f"StoredDatasetMissing: the stored zip of dataset {dataset.name!r} ({dataset.id}) is missing "
                         "from the service's storage: upload the dataset again, or ask the operator to restore it")
    failed = AuditEvent.objects.get(action="privacy.job_failed", payload__job_id=str(job.id))
    assert failed.payload["error"] == job.error and failed.payload["budget_released"] is True
    raised = raised_record(caplog, job)
    assert raised.stage == "loading"
    assert str(stored) in "".join(traceback.format_exception(raised.exc_info[1]))  # the log keeps the path
