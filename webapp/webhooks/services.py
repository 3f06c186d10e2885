"""Registering endpoints and creating deliveries: the one place the API, the UI and the signal use."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from forensics.models import Analysis
from forensics.presenters import analysis_to_dict
from webapp.accounts import secret_box
from webapp.accounts.tenancy import Actor
from webapp.webhooks.destinations import check_destination
from webapp.webhooks.models import (
    ANALYSIS_EVENTS,
    EVENT_COMPLETED,
    EVENT_FAILED,
    EVENT_PING,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)
# Recognisable in logs and secret scanners.
SECRET_PREFIX = "whsec_"
SUBSCRIBABLE_EVENTS = ANALYSIS_EVENTS


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown to the user once, never returned again


def create_endpoint(actor: Actor, url: str, events: Iterable[str] | None = None) -> CreatedEndpoint:
    """Register ``url`` for the actor's tenant; raises DestinationRefused or ValueError with the reason."""
    chosen = sorted(set(events or SUBSCRIBABLE_EVENTS))
    unknown = sorted(set(chosen) - set(SUBSCRIBABLE_EVENTS))
    if unknown or not chosen:
        raise ValueError(f"unknown events {unknown}; choose from {list(SUBSCRIBABLE_EVENTS)}")
    check_destination(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        tenant=actor.tenant, url=url, secret_ciphertext=secret_box.encrypt(secret), secret_hint=secret[-4:],
        events=chosen, created_by=actor.label,
    )
    log.info("webhook endpoint created", extra={"tenant": actor.tenant.slug, "endpoint": str(endpoint.id)})
    return CreatedEndpoint(endpoint, secret)


def deactivate_endpoint(endpoint: WebhookEndpoint) -> None:
    """Stop sending; the endpoint and its history stay visible. Pending deliveries end as failed."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False,
                                                                            deactivated_at=timezone.now())
        endpoint.deliveries.filter(state=WebhookDelivery.State.PENDING).update(
            state=WebhookDelivery.State.FAILED, next_attempt_at=None, last_error="endpoint deactivated"
        )
    endpoint.refresh_from_db()


def event_for(analysis: Analysis) -> str | None:
    events: dict[str, str] = {Analysis.State.DONE: EVENT_COMPLETED, Analysis.State.FAILED: EVENT_FAILED}
    return events.get(analysis.state)


def deliveries_for_analysis(analysis: Analysis) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the analysis's tenant that subscribed to its event."""
    event = event_for(analysis)
    if event is None:
        return []
    endpoints = [e for e in WebhookEndpoint.objects.filter(tenant_id=analysis.tenant_id, active=True)
                 if event in e.events]
    if not endpoints:
        return []
    data = {"analysis": analysis_to_dict(analysis)}
    return [create_delivery(endpoint, event, data, analysis_id=analysis.pk) for endpoint in endpoints]


def send_ping(endpoint: WebhookEndpoint) -> WebhookDelivery:
    return create_delivery(endpoint, EVENT_PING, {"endpoint": str(endpoint.id), "message": "ping"})


def create_delivery(endpoint: WebhookEndpoint, event: str, data: dict[str, Any], *,
                    analysis_id: Any = None) -> WebhookDelivery:
    """Store the delivery (so it survives any crash), then queue it once committed."""
    from webapp.webhooks.delivery import enqueue

    delivery = WebhookDelivery(endpoint=endpoint, event=event, analysis_id=analysis_id,
                               next_attempt_at=timezone.now())
    delivery.payload = {"id": str(delivery.id), "type": event, "created_at": timezone.now().isoformat(),
                        "tenant": endpoint.tenant.slug, "data": data}
    delivery.save()
    transaction.on_commit(lambda: enqueue(delivery))
    return delivery

