"""Where a tenant wants results pushed (WebhookEndpoint) and each push (WebhookDelivery).

Delivery state lives here, not in the queue, so a crashed worker loses
nothing: the sweeper re-sends pending deliveries that are due.
"""
from __future__ import annotations

import uuid

from django.db import models

from webapp.accounts.models import Tenant

EVENT_COMPLETED = "analysis.completed"
EVENT_FAILED = "analysis.failed"
EVENT_PING = "ping"
ANALYSIS_EVENTS = (EVENT_COMPLETED, EVENT_FAILED)


def default_events() -> list[str]:
    return list(ANALYSIS_EVENTS)


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret_ciphertext = models.TextField(help_text="Fernet-encrypted; the plaintext is shown once, at creation.")
    secret_hint = models.CharField(max_length=16, help_text="The last characters, to tell secrets apart.")
    events = models.JSONField(default=default_events)
    active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tenant}:{self.url}"


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    analysis_id = models.UUIDField(null=True, blank=True, db_index=True)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    history = models.JSONField(default=list, help_text="One entry per attempt: at, duration_ms, status_code, error.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"delivery {self.id} ({self.event}, {self.state})"
