"""Turns a finished analysis into webhook deliveries (forensics never imports this app)."""
from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from forensics.models import Analysis
from forensics.signals import analysis_finished
from webapp.webhooks.services import deliveries_for_analysis

log = logging.getLogger(__name__)


@receiver(analysis_finished, sender=Analysis, dispatch_uid="webhooks.analysis_finished")
def queue_webhooks(sender: Any, analysis: Analysis, **_: Any) -> None:
    # Runs in the pipeline's on_commit hook: a webhook problem must never look like a failed analysis.
    try:
        deliveries_for_analysis(analysis)
    except Exception:
        log.exception("could not create webhook deliveries", extra={"analysis": str(analysis.pk)})
