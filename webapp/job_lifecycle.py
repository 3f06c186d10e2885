"""One life cycle for background jobs (the NetBox ``JobRunner`` idea), shared by every job kind.

A job row is claimed atomically (``queued`` -> ``running``, or back from ``running`` when the broker redelivers
a message after a worker died), heartbeats while it works (its progress writes are the heartbeat), and ends
``done`` or ``failed`` with a reason. A run that raises ends through ``fail``, the one place that logs a job's
traceback (with its kind, id, stage and attempt) and records a reason without server paths. A job that hands
itself to another queue (an analysis after its provenance stage, waiting for a detection worker) is ``waiting``: never swept as a crash; the worker that
takes it ``resume``s it without counting an attempt. ``sweep`` finds what crashed workers and lost messages
left behind: a running job whose heartbeat is older than ``FORENSICS_STALE_AFTER_SECONDS`` goes back to the
queue (and is failed with the reason after ``FORENSICS_MAX_ATTEMPTS``); a queued job that was never started
is sent again; a waiting job nobody took for ``FORENSICS_WAITING_RESEND_SECONDS`` has its message re-sent.

Each kind has a time limit per run of its task (``TIME_LIMITS``: ``FORENSICS_<KIND>_TIME_LIMIT`` seconds, 0 for
none). The worker that claims or resumes a job starts its clock; every ``beat`` checks it and raises
``TimeLimitExceeded`` past it, so the job ends ``failed`` with the reason even on ``--pool solo``, where Celery
enforces no limit. Where the pool does, Celery's soft limit (a little later) and hard limit back it up
(``CELERY_TASK_ANNOTATIONS`` in the settings); a job that fails past its deadline records the time limit as
its reason.

Analyses, calibrations, private fine-tuning jobs and report exports run on it. Webhook deliveries are sent with
``send`` and swept on the same ``control`` queue (beat every minute, and when a worker starts), but hold a lease
instead of heartbeating (``webapp.webhooks.delivery``): an attempt is one HTTP POST bounded by its timeout, with
no progress to report, so the claim leases the delivery for the timeout plus FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS
and a delivery whose worker died is simply due again when the lease ends. They are not ``LifecycleJob`` rows
because their life is a schedule of retries, not one run: pending until delivered or failed, each retry due at
its own backoff time (``next_attempt_at``), up to FORENSICS_WEBHOOK_MAX_ATTEMPTS (not FORENSICS_MAX_ATTEMPTS),
and those states are the API's (``/api/v1/webhooks/{id}/deliveries``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from webapp.celery import task_named
from webapp.public_errors import public_reason

log = logging.getLogger(__name__)
QUEUED, RUNNING, WAITING, DONE, FAILED = "queued", "running", "waiting", "done", "failed"
UNFINISHED = (QUEUED, RUNNING, WAITING)

# model label -> (what people call its jobs, the setting with its time limit in seconds)
TIME_LIMITS = {
    "forensics.analysis": ("analyses", "FORENSICS_ANALYSIS_TIME_LIMIT"),
    "forensics.calibration": ("calibrations", "FORENSICS_CALIBRATION_TIME_LIMIT"),
    "reporting.reportexport": ("report exports", "FORENSICS_REPORT_EXPORT_TIME_LIMIT"),
    "privacy.privatefinetunejob": ("private fine-tuning jobs", "FORENSICS_PRIVATE_JOB_TIME_LIMIT"),
}
clock = time.monotonic  # the deadline's clock (tests move it instead of sleeping)


class TimeLimitExceeded(Exception):
    """The job ran past its kind's time limit; the message is the reason recorded on the job."""


class LifecycleJob(models.Model):
    """The fields the life cycle needs; each job kind declares its own ``state`` with at least queued, running,
    done and failed (and ``waiting`` if it hands itself to another queue), plus ``created_at``. A kind may
    declare ``progress`` as a JSON object instead of a fraction (private jobs: epochs, loss, ε)."""

    stage = models.CharField(max_length=80, blank=True, help_text="What the worker is doing now.")
    progress = models.FloatField(default=0.0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # For the type checker only (annotations: no field, no migration): what every kind has without this class
    # declaring it (its manager and its own ``state`` field), and the run's deadline ``start_clock`` sets.
    objects: ClassVar[models.Manager[Any]]
    state: str
    _lifecycle_deadline: float | None

    class Meta:
        abstract = True


Job = TypeVar("Job", bound=LifecycleJob)


def time_limit(model: type[models.Model]) -> tuple[str, str, float]:
    """(what people call the kind's jobs, its setting, its limit in seconds; 0 = none)."""
    what, setting = TIME_LIMITS.get(model._meta.label_lower, (model._meta.verbose_name_plural, ""))
    return str(what), setting, float(getattr(settings, setting, 0) or 0) if setting else 0.0


def time_limit_reason(model: type[models.Model]) -> str:
    what, setting, seconds = time_limit(model)
    return f"exceeded the {seconds:g} s time limit for {what} ({setting})"


def start_clock(job: LifecycleJob) -> None:
    """This run's deadline, from now (each claim or resume of the job on a worker starts it again)."""
    seconds = time_limit(type(job))[2]
    job._lifecycle_deadline = clock() + seconds if seconds > 0 else None


def past_deadline(job: LifecycleJob) -> bool:
    deadline = getattr(job, "_lifecycle_deadline", None)
    return deadline is not None and clock() > deadline


def check_deadline(job: LifecycleJob) -> None:
    """Raise ``TimeLimitExceeded`` (with the reason) once this run of the job is past its kind's time limit."""
    if past_deadline(job):
        raise TimeLimitExceeded(time_limit_reason(type(job)))


def send(task: str, job_id: Any, kind: str, *, countdown: float | None = None) -> bool:
    """Hand a job to the Celery task named ``task`` (after ``countdown`` seconds, if given); False (logged) when
    the broker is down. By name (``webapp.celery.task_named``): a service never imports the tasks that run it.

    A job must never be lost to a broker outage: its row stays as it is and the sweeper sends it again, so
    the caller's request still succeeds.
    """
    runner = task_named(task)  # outside the try: an unknown task name is a bug, not a broker outage
    try:
        if countdown:
            runner.apply_async((str(job_id),), countdown=countdown)
        else:
            runner.delay(str(job_id))
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweeper retries
        log.error("could not queue the job; the sweeper will send it again",
                  extra={"kind": kind, "job": str(job_id), "error": str(exc)})
        return False


def claim(model: type[Job], job_id: Any, *, redelivered: bool = False, stage: str = "starting",
          progress: Any = 0.0, give_up: Callable[[Job, str], None] | None = None,
          related: Sequence[str] = ()) -> Job | None:
    """The job, now ``running`` on this worker; None if another worker has it, it is finished, or it gave up.

    Each claim counts an attempt; past ``FORENSICS_MAX_ATTEMPTS`` the job ends ``failed`` through ``give_up``
    (default: ``finish``). ``progress`` None leaves the job's progress as it is (a job that resumes from a
    checkpoint); ``related`` is passed to ``select_related`` for the job handed back.
    """
    claimable = [QUEUED, RUNNING] if redelivered else [QUEUED]
    now = timezone.now()
    fields = {} if progress is None else {"progress": progress}
    if not model.objects.filter(pk=job_id, state__in=claimable).update(
            state=RUNNING, stage=stage, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, error="",
            **fields):
        log.info("job not claimable; skipping", extra={"job": str(job_id), "kind": model.__name__})
        return None
    job = model.objects.select_related(*related).get(pk=job_id)
    start_clock(job)
    if job.attempts > settings.FORENSICS_MAX_ATTEMPTS:
        reason = f"gave up after {job.attempts - 1} attempts: the worker stopped each time"
        if give_up is None:
            finish(job, FAILED, error=reason)
        else:
            give_up(job, reason)
        return None
    return job


def wait(job: LifecycleJob, stage: str, progress: Any) -> bool:
    """``running`` -> ``waiting``: the job's next message is in another queue, not on a worker. False if it ended."""
    now = timezone.now()
    if not type(job).objects.filter(pk=job.pk, state__in=[RUNNING, WAITING]).update(
            state=WAITING, stage=stage[:80], progress=progress, heartbeat_at=now):
        return False
    job.state, job.stage, job.progress, job.heartbeat_at = WAITING, stage[:80], progress, now
    return True


def resume(model: type[Job], job_id: Any, *, redelivered: bool = False, stage: str = "running",
           related: Sequence[str] = ()) -> Job | None:
    """``waiting`` -> ``running`` on this worker, without counting an attempt; None if it is not waiting.

    Duplicate messages (a re-sent one whose original finally arrived) find the job already taken and do
    nothing. A message the broker redelivers after a worker died may take a ``running`` job back.
    """
    claimable = [WAITING, RUNNING] if redelivered else [WAITING]
    if not model.objects.filter(pk=job_id, state__in=claimable).update(
            state=RUNNING, stage=stage[:80], heartbeat_at=timezone.now()):
        log.info("waiting job not claimable; skipping", extra={"job": str(job_id), "kind": model.__name__})
        return None
    job = model.objects.select_related(*related).get(pk=job_id)
    start_clock(job)
    return job


def beat(job: LifecycleJob, stage: str, progress: Any) -> None:
    """Record what the worker is doing; the sweeper reads it as a sign of life. Past this run's deadline it
    raises ``TimeLimitExceeded`` instead (the job's ``except`` ends it ``failed`` with the reason)."""
    check_deadline(job)
    job.stage, job.heartbeat_at = stage[:80], timezone.now()
    job.progress = round(progress, 4) if isinstance(progress, float) else progress
    type(job).objects.filter(pk=job.pk).update(stage=job.stage, progress=job.progress, heartbeat_at=job.heartbeat_at)


def finish(job: LifecycleJob, state: str, *, error: str = "", **fields: Any) -> bool:
    """End an unfinished job in ``state`` (with ``fields`` saved beside it); False if it had already ended.

    A job that ends ``done`` with a fractional progress is at 1.0; a kind with a JSON progress passes its own.
    A job that fails past its deadline (``TimeLimitExceeded`` at a beat, or Celery's soft limit) records the
    time limit as its reason.
    """
    model = type(job)
    if state == FAILED and past_deadline(job):
        error = time_limit_reason(model)
    if state == DONE and "progress" not in fields and isinstance(model._meta.get_field("progress"), models.FloatField):
        fields["progress"] = 1.0
    ended = model.objects.filter(pk=job.pk, state__in=UNFINISHED).update(
        state=state, stage=state, error=error, finished_at=timezone.now(), **fields)
    if ended:
        job.state, job.stage, job.error = state, state, error
    return bool(ended)


def fail(job: Job, exc: BaseException, *, end: Callable[[Job, str], object] | None = None) -> str:
    """End a job whose run raised ``exc``, for every kind the same way; returns the reason people see.

    The traceback is logged here, once, with the fields an operator searches by (``kind``, ``job``, ``stage``,
    ``attempt``), because only the log may show what the server looked like (paths included); the job records
    ``public_reason(exc)``, which carries no server paths. ``end`` is the kind's own way to end a failed job
    (its audit event, budget release, announcement), called with that reason; without it, ``finish``. A job past
    its deadline still records the time limit (``finish``).
    """
    reason = public_reason(exc)
    log.error("job raised", exc_info=exc, extra={"kind": type(job).__name__, "job": str(job.pk), "stage": job.stage,
                                                 "attempt": job.attempts, "reason": reason})
    if end is None:
        finish(job, FAILED, error=reason)
    else:
        end(job, reason)
    return reason


def sweep(model: type[Job], enqueue: Callable[[Job], None], *, give_up: Callable[[Job, str], None],
          requeued: Callable[[Job], None] = lambda job: None, resend: Callable[[Job], None] | None = None,
          now: datetime | None = None) -> dict[str, int]:
    """Requeue jobs whose worker died, fail those out of attempts, re-send queued jobs whose message was lost.

    With ``resend``, a ``waiting`` job nobody took for ``FORENSICS_WAITING_RESEND_SECONDS`` has its message
    sent again (at most once per window, without counting an attempt; a duplicate finds the job taken);
    the counts then include ``resent``.
    """
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
    if resend is not None:
        # Waiting is not a crash (a backlog or a restarting worker is normal): only a message that may have
        # been lost is sent again.
        counts["resent"] = 0
        resend_before = now - timedelta(seconds=settings.FORENSICS_WAITING_RESEND_SECONDS)
        for job in model.objects.filter(state=WAITING, heartbeat_at__lt=resend_before):
            if model.objects.filter(pk=job.pk, state=WAITING, heartbeat_at=job.heartbeat_at).update(
                    heartbeat_at=now):
                resend(job)
                counts["resent"] += 1
    for job in model.objects.filter(state=QUEUED, created_at__lt=cutoff, started_at__isnull=True):
        enqueue(job)
        counts["reenqueued"] += 1
    if any(counts.values()):
        log.warning("stale jobs recovered", extra={"kind": model.__name__, **counts})
    return counts
