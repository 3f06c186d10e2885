"""The budget ledger: composed arithmetic, refusal with a clear message, release, append-only, concurrency."""
from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from privacy import jobs, ledger
from privacy.accounting import Mechanism, epsilon_spent
from privacy.models import AppendOnlyError, BudgetLedgerEntry, PrivateDataset, PrivateFinetuneJob
from privacy.training import FinetuneConfig, plan
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.support.privacy_fixtures import upload_dataset

JOB = {"target_epsilon": 2.0, "epochs": 2, "batch_size": 6, "learning_rate": 0.01}


def planned(dataset: PrivateDataset, **overrides) -> Mechanism:  # type: ignore[no-untyped-def]
    return plan(FinetuneConfig(**{**JOB, "delta": dataset.delta, **overrides}), dataset.n_train)


def test_dataset_upload_is_validated_counted_and_audited(actor, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip)
    assert (dataset.n_real, dataset.n_fake, dataset.n_train, dataset.n_holdout) == (12, 12, 18, 6)
    assert ledger.budget(dataset).epsilon_left == 8.0
    event = AuditEvent.objects.get(action="privacy.dataset_created")
    assert event.payload["sha256"] == dataset.sha256 and event.payload["epsilon_total"] == 8.0


def test_reservations_compose_with_the_accountant_and_the_ledger_records_each_step(actor, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip, epsilon_total=10.0)
    first = jobs.submit_job(actor, dataset, **JOB)
    second = jobs.submit_job(actor, dataset, **{**JOB, "target_epsilon": 1.0})
    assert first.state == second.state == "queued"
    entries = list(BudgetLedgerEntry.objects.filter(dataset=dataset).order_by("id"))
    m1, m2 = planned(dataset), planned(dataset, target_epsilon=1.0)
    assert [ledger.mechanism_of(e) for e in entries] == [m1, m2]
    assert entries[0].epsilon_job == pytest.approx(epsilon_spent([m1], 1e-5)) and entries[0].epsilon_job <= 2.0
    composed = epsilon_spent([m1, m2], 1e-5)
    assert entries[1].epsilon_composed == pytest.approx(composed)
    assert entries[0].epsilon_composed < composed < entries[0].epsilon_job + entries[1].epsilon_job
    assert ledger.budget(dataset).epsilon_left == pytest.approx(10.0 - composed)


def test_a_job_over_the_remaining_budget_is_refused_before_it_starts(actor, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip, epsilon_total=2.5)  # one ε=2 job fits; two compose to ~2.7
    assert jobs.submit_job(actor, dataset, **JOB).state == "queued"
    refused = jobs.submit_job(actor, dataset, **JOB)
    assert refused.state == "refused"
    assert "this job needs ε=1.99" in refused.error and "of 2.5 left" in refused.error
    assert "lower the target ε or epochs, or ask an admin to raise the budget" in refused.error
    assert not BudgetLedgerEntry.objects.filter(job=refused).exists()
    assert AuditEvent.objects.filter(action="privacy.job_refused", payload__job_id=str(refused.id)).exists()
    assert verify_chain(actor.tenant).ok


def test_failure_before_the_first_dp_step_releases_the_reservation_and_after_it_does_not(actor, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip)
    early, late = (jobs.submit_job(actor, dataset, **JOB) for _ in range(2))
    spent_both = ledger.budget(dataset).epsilon_spent
    PrivateFinetuneJob.objects.filter(pk=late.pk).update(state="running", progress={"dp_steps": 3})
    jobs.fail(early, "the dataset file was unreadable")
    jobs.fail(late, "the worker ran out of memory in epoch 2")
    release = BudgetLedgerEntry.objects.get(job=early, kind="release")
    assert not BudgetLedgerEntry.objects.filter(job=late, kind="release").exists()
    assert release.epsilon_composed == pytest.approx(epsilon_spent([planned(dataset)], 1e-5))
    assert ledger.budget(dataset).epsilon_spent == pytest.approx(release.epsilon_composed)
    assert release.epsilon_composed < spent_both
    failed = AuditEvent.objects.filter(action="privacy.job_failed").order_by("seq")
    assert [e.payload["budget_released"] for e in failed] == [True, False]


def test_ledger_rows_cannot_be_changed_or_removed(actor, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, **JOB)
    entry = BudgetLedgerEntry.objects.get(job=job)
    entry.steps = 1
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        BudgetLedgerEntry.objects.filter(pk=entry.pk).update(steps=1)
    for sql in (f"UPDATE privacy_budgetledgerentry SET steps = 1 WHERE id = {entry.pk}",
                f"DELETE FROM privacy_budgetledgerentry WHERE id = {entry.pk}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert BudgetLedgerEntry.objects.get(pk=entry.pk).steps == planned(dataset).steps


def test_only_an_admin_sets_the_budget_and_delta_is_fixed_once_reserved(actor, dataset_zip) -> None:
    from privacy.dataset_store import set_budget
    from webapp.accounts.tenancy import Actor

    dataset = upload_dataset(actor, dataset_zip)
    moderator = Actor(actor.tenant, "user:mod", "moderator", frozenset({"analyse", "read", "review"}))
    with pytest.raises(PermissionError, match="admin"):
        set_budget(moderator, dataset, epsilon_total=100.0)
    jobs.submit_job(actor, dataset, **JOB)
    with pytest.raises(ValueError, match="δ cannot change"):
        set_budget(actor, dataset, delta=1e-6)
    assert set_budget(actor, dataset, epsilon_total=20.0).epsilon_total == 20.0
    assert AuditEvent.objects.filter(action="privacy.budget_set").count() == 1


def test_two_concurrent_jobs_that_together_exceed_the_budget_one_is_accepted(actor, dataset_zip, clean_ledger) -> None:
    """Real threads, each with its own database connection, released together at a barrier."""
    dataset = upload_dataset(actor, dataset_zip, epsilon_total=2.5)  # one ε=2 job fits, two composed do not
    barrier, states, errors = threading.Barrier(2), [], []

    def submit() -> None:
        try:
            barrier.wait(timeout=30)
            states.append(jobs.submit_job(actor, PrivateDataset.objects.get(pk=dataset.pk), **JOB).state)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(states) == ["queued", "refused"]
    assert BudgetLedgerEntry.objects.filter(dataset=dataset, kind="reserve").count() == 1
    assert ledger.budget(dataset).epsilon_spent <= 2.5
