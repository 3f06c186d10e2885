"""Private jobs whose worker died (or whose queue message was lost) are run again; they resume from their
last epoch checkpoint under the reservation they already hold. Same rules as ``forensics.recovery``, on
the same beat schedule and at worker start."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from privacy.jobs import enqueue, fail
from privacy.models import PrivateFinetuneJob
from provenance.audit import append_event

log = logging.getLogger(__name__)
State = PrivateFinetuneJob.State


def recover_stale_private_jobs(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.FORENSICS_STALE_AFTER_SECONDS)
    counts = {"requeued": 0, "reenqueued": 0, "failed": 0}
    for job in PrivateFinetuneJob.objects.select_related("tenant").filter(state=State.RUNNING,
                                                                          heartbeat_at__lt=cutoff):
        if job.attempts >= settings.FORENSICS_MAX_ATTEMPTS:
            fail(job, f"the worker stopped responding {job.attempts} times; giving up")
            counts["failed"] += 1
            continue
        # Conditional update: only one sweeper wins if several run at once.
        if PrivateFinetuneJob.objects.filter(pk=job.pk, state=State.RUNNING, heartbeat_at=job.heartbeat_at).update(
                state=State.QUEUED):
            append_event(job.tenant, "system:sweeper", "privacy.job_requeued", payload={
                "job_id": str(job.id), "attempts": job.attempts, "last_heartbeat": job.heartbeat_at.isoformat(),
                "progress": job.progress})
            enqueue(job)
            counts["requeued"] += 1
    for job in PrivateFinetuneJob.objects.filter(state=State.QUEUED, created_at__lt=cutoff, started_at__isnull=True):
        enqueue(job)
        counts["reenqueued"] += 1
    if any(counts.values()):
        log.warning("stale private jobs recovered", extra=counts)
    return counts
