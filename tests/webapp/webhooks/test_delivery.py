"""Deliveries to a real HTTP receiver: signing, retries with backoff, final failures, the sweeper."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from forensics import services as forensics_services
from tests.support.media import jpeg_bytes
from tests.support.webhook_receiver import Receiver
from webapp.accounts import secret_box
from webapp.webhooks.delivery import attempt_delivery, backoff_seconds, sweep_due_deliveries
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint
from webapp.webhooks.services import create_endpoint, deactivate_endpoint, send_ping

State = WebhookDelivery.State


def register(actor, receiver: Receiver) -> WebhookEndpoint:  # type: ignore[no-untyped-def]
    created = create_endpoint(actor, receiver.url)
    receiver.secret = created.secret
    return created.endpoint


def test_a_finished_analysis_is_posted_signed(actor, receiver, eager_celery) -> None:
    endpoint = register(actor, receiver)
    analysis = forensics_services.submit_chunks(actor, [jpeg_bytes(seed=51)], original_name="a.jpg")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.state == State.DELIVERED and delivery.attempts == 1
    assert delivery.event == "analysis.completed" and delivery.analysis_id == analysis.id
    [request] = receiver.received
    assert request.signature_ok, request.signature_error
    assert request.headers["Forensics-Event"] == "analysis.completed"
    assert request.headers["Forensics-Delivery"] == str(delivery.id)
    body = json.loads(request.body)
    assert body["id"] == str(delivery.id) and body["type"] == "analysis.completed"
    assert body["data"]["analysis"]["id"] == str(analysis.id) and body["data"]["analysis"]["state"] == "done"
    [attempt] = delivery.history
    assert attempt["status_code"] == 200 and attempt["duration_ms"] >= 0 and attempt["error"] == ""


def test_a_server_error_is_retried_then_delivered(actor, receiver, eager_celery, settings) -> None:
    settings.FORENSICS_WEBHOOK_BACKOFF_SECONDS = 0
    receiver.statuses = [500, 503, 200]
    delivery = send_ping(register(actor, receiver))
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and delivery.attempts == 3
    assert [a["status_code"] for a in delivery.history] == [500, 503, 200]
    assert "HTTP 500" in delivery.history[0]["error"]
    assert len({r.body for r in receiver.received}) == 1  # every retry sends the same body
    assert all(r.signature_ok for r in receiver.received)


def test_retries_wait_with_exponential_backoff(actor, receiver, settings) -> None:
    """Driven by hand: an attempt that is not yet due is not made."""
    receiver.statuses = [500, 500, 200]
    delivery = send_ping(register(actor, receiver))

    def next_attempt_in() -> tuple[float, float]:
        """The attempt's backoff, bounded by the times before and after it (however long the attempt took: the
        first queueing in a process imports every tasks module, seconds on a busy machine)."""
        before = timezone.now()
        assert attempt_delivery(str(delivery.id)).state == State.PENDING
        after = timezone.now()
        delivery.refresh_from_db()
        return (delivery.next_attempt_at - after).total_seconds(), (delivery.next_attempt_at - before).total_seconds()

    at_least, at_most = next_attempt_in()
    assert 0.8 * 10 <= at_most and at_least <= 1.2 * 10
    assert attempt_delivery(str(delivery.id)) is None and len(receiver.received) == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    at_least, at_most = next_attempt_in()
    assert 0.8 * 20 <= at_most and at_least <= 1.2 * 20
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert attempt_delivery(str(delivery.id)).state == State.DELIVERED


def test_backoff_doubles_and_is_capped(settings) -> None:
    settings.FORENSICS_WEBHOOK_BACKOFF_SECONDS, settings.FORENSICS_WEBHOOK_MAX_BACKOFF_SECONDS = 10, 60
    for attempts, nominal in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        assert 0.8 * nominal <= backoff_seconds(attempts) <= 1.2 * nominal


@pytest.mark.parametrize("status", [410, 400, 301])
def test_a_client_error_fails_without_retry(actor, receiver, eager_celery, settings, status: int) -> None:
    settings.FORENSICS_WEBHOOK_BACKOFF_SECONDS = 0
    receiver.statuses = [status, 200]
    delivery = send_ping(register(actor, receiver))
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and delivery.attempts == 1 and delivery.last_status_code == status
    assert delivery.next_attempt_at is None and len(receiver.received) == 1


def test_gives_up_after_the_last_attempt(actor, receiver, eager_celery, settings) -> None:
    settings.FORENSICS_WEBHOOK_BACKOFF_SECONDS, settings.FORENSICS_WEBHOOK_MAX_ATTEMPTS = 0, 3
    receiver.statuses = [502]
    delivery = send_ping(register(actor, receiver))
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and delivery.attempts == 3 and len(receiver.received) == 3


def test_an_unreachable_receiver_is_retried(actor, settings, eager_celery) -> None:
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = True
    settings.FORENSICS_WEBHOOK_BACKOFF_SECONDS, settings.FORENSICS_WEBHOOK_MAX_ATTEMPTS = 0, 2
    endpoint = create_endpoint(actor, "http://127.0.0.1:9/nothing-listens").endpoint
    delivery = send_ping(endpoint)
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and delivery.attempts == 2
    assert delivery.last_status_code is None and "ConnectionError" in delivery.last_error


def test_a_crashed_attempt_is_sent_by_the_sweeper(actor, receiver, eager_celery) -> None:
    """State is in the database: a delivery whose message was lost is sent once it is due."""
    endpoint = register(actor, receiver)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="ping", payload={"id": "x"},
                                              next_attempt_at=timezone.now() + timedelta(minutes=1))
    assert sweep_due_deliveries() == 0  # not due yet (e.g. leased by a worker that then died)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert sweep_due_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED and receiver.received[0].signature_ok


def test_deactivated_endpoints_get_nothing(actor, receiver, eager_celery) -> None:
    endpoint = register(actor, receiver)
    pending = WebhookDelivery.objects.create(endpoint=endpoint, event="ping", payload={},
                                             next_attempt_at=timezone.now() + timedelta(minutes=5))
    deactivate_endpoint(endpoint)
    forensics_services.submit_chunks(actor, [jpeg_bytes(seed=52)])
    assert receiver.received == []
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [pending.pk]
    pending.refresh_from_db()
    assert pending.state == State.FAILED and pending.last_error == "endpoint deactivated"


def test_only_the_tenants_own_endpoints_are_called(actor, other_tenant, receiver, eager_celery) -> None:
    from webapp.accounts.tenancy import system_actor

    register(system_actor(other_tenant), receiver)
    forensics_services.submit_chunks(actor, [jpeg_bytes(seed=53)])
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_the_secret_is_encrypted_at_rest(actor, receiver) -> None:
    endpoint = register(actor, receiver)
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert receiver.secret not in stored.secret_ciphertext
    assert secret_box.decrypt(stored.secret_ciphertext) == receiver.secret
    assert stored.secret_hint == receiver.secret[-4:]
