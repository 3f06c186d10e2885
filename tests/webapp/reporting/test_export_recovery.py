"""Report exports share the job life cycle: a killed worker's export is finished after the sweep, never left running."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from webapp.accounts.tenancy import system_actor
from webapp.reporting.exports import recover_stale_exports, request_export
from webapp.reporting.models import ReportExport

PARAMS = {"start": date.today() - timedelta(days=1), "end": date.today() + timedelta(days=1), "format": "json"}


def stranded(tenant, attempts: int) -> ReportExport:  # type: ignore[no-untyped-def]
    """An export as a killed worker leaves it: running, with an old heartbeat (its message already taken)."""
    from webapp.celery import app

    app.conf.task_always_eager = False
    job = request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    app.conf.task_always_eager = True
    old = timezone.now() - timedelta(hours=1)
    ReportExport.objects.filter(pk=job.pk).update(state="running", attempts=attempts, heartbeat_at=old, started_at=old)
    return job


def test_an_export_whose_worker_died_is_requeued_and_finished(tenant, eager_celery) -> None:
    job = stranded(tenant, attempts=1)
    assert recover_stale_exports()["requeued"] == 1
    job.refresh_from_db()
    assert (job.state, job.attempts, job.stage) == ("done", 2, "done") and job.file


def test_an_export_gives_up_after_the_configured_attempts_with_the_reason(tenant, eager_celery, settings) -> None:
    job = stranded(tenant, attempts=settings.FORENSICS_MAX_ATTEMPTS)
    assert recover_stale_exports()["failed"] == 1
    job.refresh_from_db()
    assert job.state == "failed" and "stopped responding" in job.error


def test_an_export_whose_message_was_lost_is_sent_again(tenant, eager_celery, settings) -> None:
    from webapp.celery import app

    app.conf.task_always_eager = False
    job = request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    app.conf.task_always_eager = True
    ReportExport.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.FORENSICS_STALE_AFTER_SECONDS + 5))
    assert recover_stale_exports()["reenqueued"] == 1
    job.refresh_from_db()
    assert job.state == "done" and job.attempts == 1


@pytest.mark.django_db
def test_a_fresh_running_export_is_left_alone(tenant) -> None:
    job = request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    ReportExport.objects.filter(pk=job.pk).update(state="running", heartbeat_at=timezone.now(), attempts=1)
    assert recover_stale_exports() == {"requeued": 0, "reenqueued": 0, "failed": 0}
