"""Appending to and verifying the per-tenant audit hash chain.

Each event stores the hash of the previous one and its own hash over a
canonical JSON form, so changing, removing or reordering any row breaks the
chain from that point on, and ``verify_chain`` names the first broken link.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from provenance.canonical import canonical_json, json_safe
from provenance.models import AuditChainHead, AuditEvent
from webapp.accounts.models import Tenant

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
_APPEND_RETRIES = 5


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields)).hexdigest()


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "tenant": event.tenant_id,
        "seq": event.seq,
        "created_at": _timestamp(event.created_at),
        "actor": event.actor,
        "action": event.action,
        "item_id": event.item_id,
        "analysis_id": event.analysis_id,
        "payload": event.payload,
        "model_versions": event.model_versions,
        "prev_hash": event.prev_hash,
    }


def append_event(
    tenant: Tenant,
    actor: str,
    action: str,
    *,
    item_id: str = "",
    analysis_id: str = "",
    payload: dict[str, Any] | None = None,
    model_versions: list[dict[str, Any]] | None = None,
) -> AuditEvent:
    """Append one event to ``tenant``'s chain (inside the caller's transaction, if any)."""
    # Round-trip through JSON so what we hash is exactly what the database returns.
    payload = json_safe(payload or {})
    model_versions = json_safe(model_versions or [])
    for attempt in range(_APPEND_RETRIES):
        try:
            with transaction.atomic():
                head, _ = AuditChainHead.objects.select_for_update().get_or_create(
                    tenant=tenant, defaults={"seq": 0, "entry_hash": GENESIS_HASH}
                )
                event = AuditEvent(
                    tenant=tenant,
                    seq=head.seq + 1,
                    created_at=timezone.now(),
                    actor=actor,
                    action=action,
                    item_id=str(item_id or ""),
                    analysis_id=str(analysis_id or ""),
                    payload=payload,
                    model_versions=model_versions,
                    prev_hash=head.entry_hash,
                )
                event.entry_hash = event_hash(hashed_fields(event))
                event.save()
                head.seq, head.entry_hash = event.seq, event.entry_hash
                head.save(update_fields=["seq", "entry_hash"])
            log.info("audit event appended", extra={"tenant": tenant.slug, "seq": event.seq, "action": action})
            return event
        except (IntegrityError, OperationalError):
            # Another writer appended concurrently (SQLite has no row locks); retry on the new head.
            if attempt == _APPEND_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ChainReport:
    tenant: str
    checked: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def verify_events(tenant_slug: str, events: Iterable[AuditEvent]) -> ChainReport:
    """Walk events in ``seq`` order and report the first broken link."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in events:
        if event.seq != expected_seq:
            return ChainReport(tenant_slug, checked, False, expected_seq, f"event #{expected_seq} is missing", prev_hash)
        if event.prev_hash != prev_hash:
            return ChainReport(
                tenant_slug, checked, False, event.seq, "prev_hash does not match the previous event's hash", prev_hash
            )
        if event_hash(hashed_fields(event)) != event.entry_hash:
            return ChainReport(
                tenant_slug, checked, False, event.seq, "content was altered: its hash no longer matches", prev_hash
            )
        prev_hash, expected_seq, checked = event.entry_hash, expected_seq + 1, checked + 1
    return ChainReport(tenant_slug, checked, True, head_hash=prev_hash)


def verify_chain(tenant: Tenant) -> ChainReport:
    events = AuditEvent.objects.filter(tenant=tenant).order_by("seq").iterator(chunk_size=2000)
    report = verify_events(tenant.slug, events)
    if report.ok:
        head = AuditChainHead.objects.filter(tenant=tenant).first()
        if head is not None and (head.seq != report.checked or head.entry_hash != report.head_hash):
            return ChainReport(
                tenant.slug, report.checked, False, report.checked + 1,
                f"the chain head says #{head.seq} but the chain ends at #{report.checked}: events were removed",
                report.head_hash,
            )
    return report
