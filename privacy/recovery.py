"""Private jobs whose worker died (or whose queue message was lost) are run again; they resume from their
last epoch checkpoint under the reservation they already hold. The rules are ``webapp.job_lifecycle.sweep``'s,
on the same beat schedule (control queue) and at worker start."""
from __future__ import annotations

from datetime import datetime

from privacy.jobs import enqueue, fail
from privacy.models import PrivateFinetuneJob
from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle


def _requeued(job: PrivateFinetuneJob) -> None:
    append_event(job.tenant, "system:sweeper", "privacy.job_requeued", payload={
        "job_id": str(job.id), "attempts": job.attempts,
        "last_heartbeat": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
        "progress": job.progress})


def recover_stale_private_jobs(now: datetime | None = None) -> dict[str, int]:
    """Requeue jobs whose worker died (failed after FORENSICS_MAX_ATTEMPTS), re-send lost messages."""
    return lifecycle.sweep(PrivateFinetuneJob, enqueue, give_up=fail, requeued=_requeued, now=now)
