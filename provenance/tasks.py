"""Celery tasks of the provenance app: thin wrappers."""
from celery import shared_task
from celery.signals import worker_ready

from provenance.checkpoints import checkpoint_all


@shared_task(name="provenance.tasks.checkpoint_audit_chains")
def checkpoint_audit_chains() -> int:
    return checkpoint_all()


@shared_task(bind=True, name="provenance.tasks.run_report_export")
def run_report_export(self, export_id: str) -> None:  # type: ignore[no-untyped-def]
    from provenance.exports import run_export

    run_export(export_id, redelivered=bool((self.request.delivery_info or {}).get("redelivered")))


@shared_task(name="provenance.tasks.recover_stale_exports")
def recover_stale_exports() -> dict[str, int]:
    from provenance.exports import recover_stale_exports as recover

    return recover()


@worker_ready.connect
def _recover_on_start(**_: object) -> None:
    from provenance.exports import recover_stale_exports as recover

    recover()
