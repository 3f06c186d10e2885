"""Celery tasks of the webhooks app: thin wrappers over ``webapp.webhooks.delivery``."""
from celery import shared_task
from celery.signals import worker_ready

from webapp.webhooks import delivery


@shared_task(name="webapp.webhooks.tasks.deliver_webhook")
def deliver_webhook(delivery_id: str) -> None:
    delivery.attempt_delivery(delivery_id)


@shared_task(name="webapp.webhooks.tasks.sweep_webhook_deliveries")
def sweep_webhook_deliveries() -> int:
    return delivery.sweep_due_deliveries()


@worker_ready.connect
def _sweep_on_start(**_: object) -> None:
    """Like the job kinds' sweeps: a restarted worker sends what its predecessor left due at once."""
    delivery.sweep_due_deliveries()
