"""Celery tasks of the provenance app: thin wrappers."""
from celery import shared_task

from provenance.checkpoints import checkpoint_all


@shared_task(name="provenance.tasks.checkpoint_audit_chains")
def checkpoint_audit_chains() -> int:
    return checkpoint_all()
