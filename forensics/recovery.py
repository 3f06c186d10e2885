"""Find jobs that a crashed worker or a lost broker message left behind, and run them again.

Runs every minute (Celery beat, on the control queue) and when a worker starts; the rules are
``webapp.job_lifecycle.sweep``'s.
"""
from __future__ import annotations

import logging
from datetime import datetime

from forensics.calibrations import recover_stale_calibrations
from forensics.models import Analysis
from forensics.pipeline import fail, resend_to_detection
from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle

log = logging.getLogger(__name__)


def _requeued(analysis: Analysis) -> None:
    append_event(analysis.tenant, "system:sweeper", "analysis.requeued",
                 item_id=str(analysis.item_id), analysis_id=str(analysis.id),
                 payload={"attempts": analysis.attempts, "last_heartbeat": analysis.heartbeat_at.isoformat() if analysis.heartbeat_at else None})


def recover_stale_analyses(now: datetime | None = None) -> dict[str, int]:
    """Requeue analyses whose worker died (failed after FORENSICS_MAX_ATTEMPTS), re-send lost messages.

    Analyses waiting for a detection worker are not crashed: a backlog or a restarting GPU worker is normal.
    Only a detection message nobody took for FORENSICS_WAITING_RESEND_SECONDS is sent again, without
    counting an attempt."""
    from forensics.services import enqueue

    return lifecycle.sweep(Analysis, enqueue, give_up=fail, requeued=_requeued, resend=resend_to_detection, now=now)


def recover_stale_jobs() -> dict[str, int]:
    """Every forensics job kind the sweeper looks after: analyses, then calibrations."""
    counts = recover_stale_analyses()
    counts.update({f"calibrations_{k}": v for k, v in recover_stale_calibrations().items()})
    return counts
