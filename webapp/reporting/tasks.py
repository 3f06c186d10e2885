"""Celery tasks of the report exports: thin wrappers.

The task names are the names on the wire (broker messages, routes, the beat schedule); they keep the
``provenance.tasks.`` prefix from before issue 13 so that an export queued before an upgrade still runs.
"""
from celery import Task, shared_task
from celery.signals import worker_ready

from webapp.reporting.exports import recover_stale_exports as recover
from webapp.reporting.exports import run_export


@shared_task(bind=True, name="provenance.tasks.run_report_export")
def run_report_export(self: Task, export_id: str) -> None:
    run_export(export_id, redelivered=bool((self.request.delivery_info or {}).get("redelivered")))


@shared_task(name="provenance.tasks.recover_stale_exports")
def recover_stale_exports() -> dict[str, int]:
    return recover()


@worker_ready.connect
def _recover_on_start(**_: object) -> None:
    recover()
