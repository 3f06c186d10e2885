"""Sending one delivery: sign, POST, record the attempt, and decide what happens next.

2xx = delivered. 408, 429, 5xx and network errors are retried with
exponential backoff and jitter (FORENSICS_WEBHOOK_BACKOFF_SECONDS doubling,
capped at FORENSICS_WEBHOOK_MAX_BACKOFF_SECONDS) until
FORENSICS_WEBHOOK_MAX_ATTEMPTS; any other answer (other 4xx, redirects) is
final, because repeating the same request cannot change it.

A delivery is not a ``LifecycleJob``: an attempt is one POST bounded by FORENSICS_WEBHOOK_TIMEOUT_SECONDS,
with no progress to report, so instead of heartbeats it holds a lease (``claim``: the timeout plus
FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS, kept in ``next_attempt_at``). A worker that dies mid-POST leaves the
delivery pending and leased; once the lease ends ``sweep_due_deliveries`` sends it again.
"""
from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from webapp import job_lifecycle as lifecycle
from webapp.accounts import secret_box
from webapp.webhooks.destinations import DestinationRefused, check_destination
from webapp.webhooks.models import WebhookDelivery
from webapp.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
State = WebhookDelivery.State
RETRYABLE_STATUS = {408, 429}
USER_AGENT = "forensics-webhooks/1"


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed; deterministic, so every retry sends the same body."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def backoff_seconds(attempts: int) -> float:
    """Delay before attempt ``attempts + 1``: base * 2**(attempts-1), capped, +-20 % jitter
    so endpoints that failed together do not all retry in the same second."""
    delay = min(settings.FORENSICS_WEBHOOK_MAX_BACKOFF_SECONDS,
                settings.FORENSICS_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.8, 1.2)


def enqueue(delivery: WebhookDelivery, countdown: float = 0) -> None:
    """Queue an attempt (``webapp.job_lifecycle.send``). If the broker is down the row stays pending and the
    sweeper sends it."""
    lifecycle.send("webapp.webhooks.tasks.deliver_webhook", delivery.id, "webhook delivery",
                   countdown=countdown or None)


def lease_seconds() -> float:
    """How long one attempt holds its delivery: the POST's timeout plus FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS
    (time to sign, connect and record). An attempt is one bounded request with no progress to report, so a
    lease that ends replaces the heartbeat the long jobs send (``webapp.job_lifecycle``)."""
    return float(settings.FORENSICS_WEBHOOK_TIMEOUT_SECONDS) + float(settings.FORENSICS_WEBHOOK_LEASE_MARGIN_SECONDS)


def claim(delivery_id: str) -> WebhookDelivery | None:
    """Take a due pending delivery, leasing it for one attempt (``lease_seconds``) so a duplicate message or
    the sweeper cannot send it twice at once. The attempt is counted here: a worker that dies mid-POST leaves
    the count raised, no history entry, and the delivery pending, due again when the lease ends."""
    now = timezone.now()
    lease = timedelta(seconds=lease_seconds())
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=State.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, next_attempt_at=now + lease,
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "endpoint__tenant").get(pk=delivery_id)


def attempt_delivery(delivery_id: str) -> WebhookDelivery | None:
    """One attempt; None when the delivery was not due (already sent, not yet time, or another worker has it)."""
    delivery = claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    started, clock = timezone.now(), time.monotonic()
    status_code: int | None = None
    error, final, retry_after = "", False, 0.0
    if not endpoint.active:
        error, final = "endpoint deactivated", True
    else:
        try:
            status_code, error, retry_after = _post(delivery)
        except (DestinationRefused, secret_box.SecretBoxError) as exc:
            error, final = str(exc), True
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
    duration_ms = round((time.monotonic() - clock) * 1000)
    outcome = _outcome(status_code, final, delivery.attempts)
    _record(delivery, outcome, started, duration_ms, status_code, error, retry_after)
    log.info("webhook attempt", extra={"delivery": str(delivery.id), "endpoint": str(endpoint.id),
                                        "attempt": delivery.attempts, "status_code": status_code,
                                        "outcome": delivery.state, "duration_ms": duration_ms})
    if delivery.state == State.PENDING and delivery.next_attempt_at is not None:  # a pending one has its time
        enqueue(delivery, countdown=max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds()))
    return delivery


def _post(delivery: WebhookDelivery) -> tuple[int, str, float]:
    endpoint = delivery.endpoint
    check_destination(endpoint.url)
    body = encode_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.id),
        SIGNATURE_HEADER: sign(secret_box.decrypt(endpoint.secret_ciphertext), body),
    }
    with requests.post(endpoint.url, data=body, headers=headers, allow_redirects=False, stream=True,
                       timeout=settings.FORENSICS_WEBHOOK_TIMEOUT_SECONDS) as response:
        if 200 <= response.status_code < 300:
            return response.status_code, "", 0.0
        snippet = next(response.iter_content(300), b"").decode("utf-8", "replace")
        error = f"HTTP {response.status_code} {response.reason}: {snippet}".strip()
        if 300 <= response.status_code < 400:
            error = f"HTTP {response.status_code}: redirects are not followed; register the final URL"
        return response.status_code, error, _retry_after(response.headers.get("Retry-After", ""))


def _retry_after(value: str) -> float:
    try:
        return min(float(value), float(settings.FORENSICS_WEBHOOK_MAX_BACKOFF_SECONDS))
    except ValueError:
        return 0.0


def _outcome(status_code: int | None, final: bool, attempts: int) -> str:
    if status_code is not None and 200 <= status_code < 300:
        return State.DELIVERED
    retryable = not final and (status_code is None or status_code in RETRYABLE_STATUS or status_code >= 500)
    if retryable and attempts < settings.FORENSICS_WEBHOOK_MAX_ATTEMPTS:
        return State.PENDING
    return State.FAILED


def _record(delivery: WebhookDelivery, outcome: str, started: Any, duration_ms: int, status_code: int | None,
            error: str, retry_after: float) -> None:
    delivery.history = [*delivery.history, {
        "attempt": delivery.attempts, "at": started.isoformat(), "duration_ms": duration_ms,
        "status_code": status_code, "error": error[:500],
    }]
    delivery.state, delivery.last_status_code, delivery.last_error = outcome, status_code, error[:2000]
    delivery.next_attempt_at = None
    if outcome == State.PENDING:
        delay = max(backoff_seconds(delivery.attempts), retry_after)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    elif outcome == State.DELIVERED:
        delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["history", "state", "last_status_code", "last_error", "next_attempt_at",
                                 "delivered_at"])


def sweep_due_deliveries(limit: int = 500) -> int:
    """Re-queue pending deliveries that are due: a retry whose message was lost, or an attempt whose worker died
    (its lease has ended). Run with the other sweeps on the ``control`` queue (beat, and when a worker starts);
    a duplicate message finds the delivery taken or sent and does nothing."""
    due = list(WebhookDelivery.objects.filter(state=State.PENDING, next_attempt_at__lte=timezone.now())
               .order_by("next_attempt_at")[:limit])
    for delivery in due:
        enqueue(delivery)
    if due:
        log.info("webhook deliveries re-queued", extra={"count": len(due)})
    return len(due)
