"""Celery tasks of the privacy app: thin wrappers over ``privacy.jobs`` and ``privacy.recovery``."""
from __future__ import annotations

from celery import Task, shared_task
from celery.signals import worker_ready

from privacy.jobs import run_job
from privacy.recovery import recover_stale_private_jobs as recover


@shared_task(bind=True, name="privacy.tasks.run_private_finetune", acks_late=True, reject_on_worker_lost=True)
def run_private_finetune(self: Task, job_id: str) -> None:
    run_job(job_id, redelivered=bool((self.request.delivery_info or {}).get("redelivered")))


@shared_task(name="privacy.tasks.recover_stale_private_jobs")
def recover_stale_private_jobs() -> dict[str, int]:
    return recover()


@worker_ready.connect
def _recover_on_start(**_: object) -> None:
    recover()
