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
    assert recover_stale_analyses() == {"requeued": 0, "reenqueued": 0, "failed": 0, "resent": 0}


def waiting(actor, seconds_ago: float, attempts: int = 1) -> Analysis:
    """A job whose provenance is done and whose detection message nobody has taken yet."""
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=20 + attempts)])  # broker message not consumed
    since = timezone.now() - timedelta(seconds=seconds_ago)
    Analysis.objects.filter(pk=analysis.pk).update(state="waiting", attempts=attempts, heartbeat_at=since,
                                                   started_at=since)
    return analysis


def test_a_job_waiting_for_a_detection_worker_is_never_swept_as_a_crash(actor, settings) -> None:
    settings.FORENSICS_MAX_ATTEMPTS = 1  # a crash sweep would fail it at once
    analysis = waiting(actor, seconds_ago=settings.FORENSICS_STALE_AFTER_SECONDS * 3)
    assert recover_stale_analyses() == {"requeued": 0, "reenqueued": 0, "failed": 0, "resent": 0}
    analysis.refresh_from_db()
    assert (analysis.state, analysis.attempts) == ("waiting", 1)


def test_a_message_lost_for_the_resend_window_is_sent_again_without_an_attempt(actor, eager_celery, settings) -> None:
    from webapp.celery import app

    app.conf.task_always_eager = False
    analysis = waiting(actor, seconds_ago=settings.FORENSICS_WAITING_RESEND_SECONDS + 60)
    app.conf.task_always_eager = True
    assert recover_stale_analyses()["resent"] == 1
    analysis.refresh_from_db()
    assert (analysis.state, analysis.attempts) == ("done", 1)
    assert recover_stale_analyses()["resent"] == 0  # taken: nothing left to re-send
