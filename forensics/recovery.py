"""Find jobs that a crashed worker or a lost broker message left behind, and run them again.

Runs every minute (Celery beat, or the dev launcher's loop) and when a worker starts.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from forensics.calibrations import recover_stale_calibrations
from forensics.models import Analysis
from forensics.pipeline import fail, resend_to_detection
from provenance.audit import append_event

log = logging.getLogger(__name__)
State = Analysis.State


def recover_stale_analyses(now: datetime | None = None) -> dict[str, int]:
    from forensics.services import enqueue

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.FORENSICS_STALE_AFTER_SECONDS)
    counts = {"requeued": 0, "reenqueued": 0, "failed": 0}

    for analysis in Analysis.objects.select_related("tenant").filter(state=State.RUNNING, heartbeat_at__lt=cutoff):
        if analysis.attempts >= settings.FORENSICS_MAX_ATTEMPTS:
            fail(analysis, f"the worker stopped responding {analysis.attempts} times; giving up")
            counts["failed"] += 1
            continue
        # Conditional update: only one sweeper wins if several run at once.
        if Analysis.objects.filter(pk=analysis.pk, state=State.RUNNING, heartbeat_at=analysis.heartbeat_at).update(
            state=State.QUEUED, stage="requeued after a worker stopped"
        ):
            append_event(analysis.tenant, "system:sweeper", "analysis.requeued",
                         item_id=str(analysis.item_id), analysis_id=str(analysis.id),
                         payload={"attempts": analysis.attempts, "last_heartbeat": analysis.heartbeat_at.isoformat()})
            enqueue(analysis)
            counts["requeued"] += 1

    # Jobs waiting for a detection worker are not crashed: a backlog or a restarting GPU worker is normal.
    # Only a message that may have been lost (no worker took it for FORENSICS_WAITING_RESEND_SECONDS) is sent
    # again, at most once per window, without counting an attempt; a duplicate finds the job taken.
    resend_before = now - timedelta(seconds=settings.FORENSICS_WAITING_RESEND_SECONDS)
    counts["resent"] = 0
    for analysis in Analysis.objects.filter(state=State.WAITING, heartbeat_at__lt=resend_before):
        if Analysis.objects.filter(pk=analysis.pk, state=State.WAITING, heartbeat_at=analysis.heartbeat_at).update(
                heartbeat_at=now):
            resend_to_detection(analysis)
            counts["resent"] += 1

    # Queued jobs whose message may have been lost (broker down at submit time).
    for analysis in Analysis.objects.filter(state=State.QUEUED, created_at__lt=cutoff, started_at__isnull=True):
        enqueue(analysis)
        counts["reenqueued"] += 1
    if any(counts.values()):
        log.warning("stale analyses recovered", extra=counts)
    return counts


def recover_stale_jobs() -> dict[str, int]:
    """Every forensics job kind the sweeper looks after: analyses, then calibrations."""
    counts = recover_stale_analyses()
    counts.update({f"calibrations_{k}": v for k, v in recover_stale_calibrations().items()})
    return counts
