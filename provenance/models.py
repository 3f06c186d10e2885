"""The append-only, hash-chained audit trail (one chain per tenant).

Rows are never updated or deleted: the model refuses it, and database
triggers (see the migrations) refuse it for any client of the app's database.
"""
from __future__ import annotations

from typing import Any

from django.db import models

from webapp.accounts.models import Tenant


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events are append-only: UPDATE is not allowed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are append-only: DELETE is not allowed")


class AuditEvent(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="audit_events")
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=60, db_index=True)
    item_id = models.CharField(max_length=64, blank=True, db_index=True)
    analysis_id = models.CharField(max_length=64, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    model_versions = models.JSONField(default=list)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["tenant", "seq"], name="one_event_per_seq")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only: UPDATE is not allowed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are append-only: DELETE is not allowed")

    def __str__(self) -> str:
        return f"{self.tenant_id}#{self.seq} {self.action}"


class AuditChainHead(models.Model):
    """The newest event of a tenant's chain; locking this row serialises appends."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="audit_head")
    seq = models.PositiveBigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64)


class AuditCheckpoint(models.Model):
    """A signed statement of a tenant's chain head at a moment (the Certificate
    Transparency pattern): anyone holding the public key can later prove that
    events up to ``seq`` existed with exactly this hash, even if the database
    is rewritten afterwards."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="audit_checkpoints")
    seq = models.PositiveBigIntegerField()
    entry_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    signature = models.JSONField()

    class Meta:
        ordering = ["tenant_id", "seq"]
