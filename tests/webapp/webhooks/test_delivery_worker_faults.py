"""kill -9 a real worker in the middle of a webhook POST: once the attempt's lease has ended, the sweep sends the
delivery again and a new worker delivers it, once. On the configured database and broker (both passes of
scripts/test.sh)."""
from __future__ import annotations

import pytest

from tests.conftest import wait_for
from tests.support.webhook_receiver import Receiver
from webapp.webhooks.delivery import sweep_due_deliveries
from webapp.webhooks.models import WebhookDelivery
from webapp.webhooks.services import create_endpoint, send_ping

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TIMEOUT, MARGIN = 5, 1  # the lease: 6 s instead of the default 70 s
ENV = {"FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST": "1", "FORENSICS_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT),
       "FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS": str(MARGIN)}


def sent_again_and_delivered(delivery: WebhookDelivery) -> bool:
    """The control queue's sweep (every minute in a deployment), run here until the delivery is no longer pending:
    nothing is due while the dead worker's lease lasts; after it, each sweep sends it (a duplicate finds it taken)."""
    if WebhookDelivery.objects.get(pk=delivery.pk).state != WebhookDelivery.State.PENDING:
        return True
    sweep_due_deliveries()
    return False


def test_a_delivery_survives_its_worker_being_killed_mid_post(worker_factory, actor, receiver: Receiver) -> None:
    receiver.hang = 1  # the first POST gets no answer: its worker is still waiting when it is killed
    created = create_endpoint(actor, receiver.url)
    receiver.secret = created.secret
    first = worker_factory(ENV)
    delivery = send_ping(created.endpoint)
    wait_for(lambda: receiver.received, what="the first worker to POST the delivery")
    first.kill()

    delivery.refresh_from_db()
    # What the code records of an attempt whose worker died: the attempt is counted (at the claim), no history
    # entry (that is written when the answer is known), still pending, leased until the timeout + margin.
    assert (delivery.state, delivery.attempts, delivery.history) == ("pending", 1, []), delivery.last_error
    leased_until = delivery.next_attempt_at
    assert leased_until is not None

    second = worker_factory(ENV)
    wait_for(lambda: sent_again_and_delivered(delivery), interval=0.5, what="the sweep and the new worker to deliver")
    second.stop()  # finishes what it is doing; nothing it could still take may POST again
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2), delivery.last_error
    [attempt] = delivery.history
    assert (attempt["attempt"], attempt["status_code"], attempt["error"]) == (2, 200, "")
    assert delivery.delivered_at is not None and delivery.delivered_at >= leased_until  # not before the lease ended
    hung, answered = receiver.received
    assert hung.body == answered.body and answered.signature_ok
    assert hung.headers["Forensics-Delivery"] == answered.headers["Forensics-Delivery"] == str(delivery.id)
