"""Signed checkpoints of each tenant's audit-chain head, and their verification."""
from __future__ import annotations

from typing import Any

from django.utils import timezone

from provenance.audit import ChainReport
from provenance.keys import signing_key
from provenance.models import AuditChainHead, AuditCheckpoint, AuditEvent
from provenance.signing import sign_json, verify_json
from webapp.accounts.models import Tenant

SCHEMA = "media-forensics/audit-checkpoint/v1"


def statement(tenant: Tenant, seq: int, entry_hash: str, created_at: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "tenant": tenant.slug, "seq": seq, "entry_hash": entry_hash, "created_at": created_at}


def checkpoint(tenant: Tenant) -> AuditCheckpoint | None:
    """Sign the current head, unless the newest checkpoint already covers it."""
    head = AuditChainHead.objects.filter(tenant=tenant).first()
    if head is None or AuditCheckpoint.objects.filter(tenant=tenant, seq=head.seq).exists():
        return None
    now = timezone.now()
    signed = sign_json(statement(tenant, head.seq, head.entry_hash, now.isoformat()), signing_key())
    return AuditCheckpoint.objects.create(tenant=tenant, seq=head.seq, entry_hash=head.entry_hash, created_at=now,
                                          signature=signed["signature"])


def checkpoint_all() -> int:
    return sum(checkpoint(t) is not None for t in Tenant.objects.all())


def verify_checkpoints(tenant: Tenant, report: ChainReport, public_key: Any) -> ChainReport:
    """Every checkpoint must be validly signed and agree with the event now stored at its ``seq``."""
    for cp in AuditCheckpoint.objects.filter(tenant=tenant).order_by("seq"):
        signed = {**statement(tenant, cp.seq, cp.entry_hash, cp.created_at.isoformat()), "signature": cp.signature}
        if not verify_json(signed, [public_key]):
            return ChainReport(tenant.slug, report.checked, False, cp.seq,
                               f"checkpoint at #{cp.seq} has an invalid signature", report.head_hash)
        event = AuditEvent.objects.filter(tenant=tenant, seq=cp.seq).first()
        if event is None or event.entry_hash != cp.entry_hash:
            return ChainReport(tenant.slug, report.checked, False, cp.seq,
                               f"event #{cp.seq} differs from the signed checkpoint of {cp.created_at:%Y-%m-%d %H:%M}: "
                               "the chain was rewritten", report.head_hash)
    return report
