"""One life cycle for background jobs (the NetBox ``JobRunner`` idea), shared by every job kind that uses it.

A job row is claimed atomically (``queued`` -> ``running``, or back from ``running`` when the broker redelivers
a message after a worker died), heartbeats while it works (its progress writes are the heartbeat), and ends
``done`` or ``failed`` with a reason. ``sweep`` finds what crashed workers and lost messages left behind: a
running job whose heartbeat is older than ``FORENSICS_STALE_AFTER_SECONDS`` goes back to the queue (and is
failed with the reason after ``FORENSICS_MAX_ATTEMPTS``); a queued job that was never started is sent again.

Calibrations and report exports run on it; analyses and private fine-tuning jobs still have their own
versions of the same steps (they have extra stages: waiting for a detection worker, checkpoints), which is
the next thing to fold in here.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

log = logging.getLogger(__name__)
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class LifecycleJob(models.Model):
    """The fields the life cycle needs; each job kind declares its own ``state`` with at least the four above."""

    stage = models.CharField(max_length=80, blank=True, help_text="What the worker is doing now.")
    progress = models.FloatField(default=0.0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


Job = TypeVar("Job", bound=LifecycleJob)


def send(task: Any, job_id: Any, kind: str, *, countdown: float | None = None) -> bool:
    """Hand a job to its Celery task (after ``countdown`` seconds, if given); False (logged) when the broker is down.

    A job must never be lost to a broker outage: its row stays as it is and the sweeper sends it again, so
    the caller's request still succeeds.
    """
    try:
        if countdown:
            task.apply_async((str(job_id),), countdown=countdown)
        else:
            task.delay(str(job_id))
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweeper retries
        log.error("could not queue the job; the sweeper will send it again",
                  extra={"kind": kind, "job": str(job_id), "error": str(exc)})
        return False


def claim(model: type[Job], job_id: Any, *, redelivered: bool = False, stage: str = "starting") -> Job | None:
    """The job, now ``running`` on this worker; None if another worker has it, it is finished, or it gave up."""
    claimable = [QUEUED, RUNNING] if redelivered else [QUEUED]
    now = timezone.now()
    if not model.objects.filter(pk=job_id, state__in=claimable).update(
            state=RUNNING, stage=stage, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, progress=0.0,
            error=""):
        log.info("job not claimable; skipping", extra={"job": str(job_id), "kind": model.__name__})
        return None
    job = model.objects.get(pk=job_id)
    if job.attempts > settings.FORENSICS_MAX_ATTEMPTS:
        finish(job, FAILED, error=f"gave up after {job.attempts - 1} attempts: the worker stopped each time")
        return None
    return job


def beat(job: LifecycleJob, stage: str, progress: float) -> None:
    """Record what the worker is doing; the sweeper reads it as a sign of life."""
    job.stage, job.progress, job.heartbeat_at = stage[:80], round(progress, 4), timezone.now()
    type(job).objects.filter(pk=job.pk).update(stage=job.stage, progress=job.progress, heartbeat_at=job.heartbeat_at)


def finish(job: LifecycleJob, state: str, *, error: str = "", **fields: Any) -> bool:
    """End an unfinished job in ``state`` (with ``fields`` saved beside it); False if it had already ended."""
    ended = type(job).objects.filter(pk=job.pk, state__in=[QUEUED, RUNNING]).update(
        state=state, stage=state, error=error, finished_at=timezone.now(),
        **({"progress": 1.0} if state == DONE else {}), **fields)
    return bool(ended)


def sweep(model: type[Job], enqueue: Callable[[Job], None], *, give_up: Callable[[Job, str], None],
          requeued: Callable[[Job], None] = lambda job: None, now: datetime | None = None) -> dict[str, int]:
    """Requeue jobs whose worker died, fail those out of attempts, re-send queued jobs whose message was lost."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.FORENSICS_STALE_AFTER_SECONDS)
    counts = {"requeued": 0, "reenqueued": 0, "failed": 0}
    for job in model.objects.filter(state=RUNNING, heartbeat_at__lt=cutoff):
        if job.attempts >= settings.FORENSICS_MAX_ATTEMPTS:
            give_up(job, f"the worker stopped responding {job.attempts} times; giving up")
            counts["failed"] += 1
        # conditional: only one sweeper wins if several run at once
        elif model.objects.filter(pk=job.pk, state=RUNNING, heartbeat_at=job.heartbeat_at).update(
                state=QUEUED, stage="requeued after a worker stopped"):
            requeued(job)
            enqueue(job)
            counts["requeued"] += 1
    for job in model.objects.filter(state=QUEUED, created_at__lt=cutoff, started_at__isnull=True):
        enqueue(job)
        counts["reenqueued"] += 1
    if any(counts.values()):
        log.warning("stale jobs recovered", extra={"kind": model.__name__, **counts})
    return counts
