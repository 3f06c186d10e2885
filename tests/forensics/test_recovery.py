"""A job whose worker died is run again, and gives up after the configured attempts."""
from datetime import timedelta

from django.utils import timezone

from forensics import services
from forensics.models import Analysis
from forensics.recovery import recover_stale_analyses
from provenance.models import AuditEvent
from tests.support.media import jpeg_bytes


def stranded(actor, attempts: int) -> Analysis:
    """A job as a killed worker leaves it: running, with an old heartbeat."""
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=attempts)])  # broker message not consumed
    old = timezone.now() - timedelta(hours=1)
    Analysis.objects.filter(pk=analysis.pk).update(state="running", attempts=attempts, heartbeat_at=old, started_at=old)
    return analysis


def test_stale_running_job_is_requeued_and_finishes(actor, eager_celery) -> None:
    from webapp.celery import app

    app.conf.task_always_eager = False
    analysis = stranded(actor, attempts=1)
    app.conf.task_always_eager = True
    counts = recover_stale_analyses()
    assert counts["requeued"] == 1
    analysis.refresh_from_db()
    assert analysis.state == "done" and analysis.attempts == 2
    assert AuditEvent.objects.filter(analysis_id=str(analysis.id), action="analysis.requeued").exists()


def test_job_fails_after_max_attempts(actor, settings) -> None:
    settings.FORENSICS_MAX_ATTEMPTS = 3
    analysis = stranded(actor, attempts=3)
    assert recover_stale_analyses()["failed"] == 1
    analysis.refresh_from_db()
    assert analysis.state == "failed" and "stopped responding 3 times" in analysis.error


def test_fresh_running_job_is_left_alone(actor) -> None:
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=7)])
    Analysis.objects.filter(pk=analysis.pk).update(state="running", heartbeat_at=timezone.now())
    assert recover_stale_analyses() == {"requeued": 0, "reenqueued": 0, "failed": 0}
