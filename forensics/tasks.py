"""Celery tasks: thin wrappers over ``forensics.pipeline``, ``forensics.calibrations`` and ``forensics.recovery``.

The analysis's two stages are chained here: the provenance stage (cpu queue) hands the job to the detection
stage (gpu queue) when the pipeline says it now waits for one.
"""
from __future__ import annotations

from celery import Task, shared_task
from celery.signals import worker_ready

from forensics import calibrations, pipeline, recovery
from webapp import job_lifecycle as lifecycle


@shared_task(bind=True, name="forensics.tasks.run_provenance_stage")
def run_provenance_stage(self: Task, analysis_id: str) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if pipeline.run_provenance_stage(analysis_id, redelivered=redelivered):
        lifecycle.send(run_detection_stage.name, analysis_id, "analysis detection")


@shared_task(bind=True, name="forensics.tasks.run_detection_stage")
def run_detection_stage(self: Task, analysis_id: str) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    pipeline.run_detection_stage(analysis_id, redelivered=redelivered)


@shared_task(bind=True, name="forensics.tasks.run_calibration")
def run_calibration(self: Task, calibration_id: str) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    calibrations.run_calibration(calibration_id, redelivered=redelivered)


@shared_task(name="forensics.tasks.recover_stale_analyses")
def recover_stale_analyses() -> dict[str, int]:
    return recovery.recover_stale_jobs()


@worker_ready.connect
def _recover_on_start(**_: object) -> None:
    recovery.recover_stale_jobs()
