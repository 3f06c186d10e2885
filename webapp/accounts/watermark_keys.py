"""Per-tenant watermark keys: issue, rotate, and hand them to the detectors.

A key is generated here (or imported, for a platform that already marks its
output), encrypted at rest, and given to the detectors through the pipeline's
per-tenant options (``detector_options``), so one tenant's key never finds or
forges another tenant's mark.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from detectors.watermark.image_invisible import TenantMark
from detectors.watermark.text_greenlist import GreenlistParams
from provenance.audit import append_event
from webapp.accounts import secret_box
from webapp.accounts.models import Tenant, WatermarkKey
from webapp.accounts.tenancy import Actor

# Which detector reads which kind of key: the one place this mapping lives.
DETECTOR_KEY_KIND = {
    "text-greenlist-watermark": WatermarkKey.Kind.TEXT,
    "image-tenant-watermark": WatermarkKey.Kind.IMAGE,
}
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    kind: str
    plaintext: str  # shown once to the admin; never stored in the clear


def key_fingerprint(kind: str, key: str) -> str:
    """The public id the detector itself reports in its evidence, so audit events and findings match."""
    if kind == WatermarkKey.Kind.TEXT:
        return GreenlistParams(key=key).public_dict()["key_id"]
    return TenantMark(key=key).key_id


def issue_key(actor: Actor, kind: str, *, plaintext: str | None = None) -> IssuedKey:
    """Create (or import) the tenant's active key of ``kind``, retiring the previous one.

    Marks made with a retired key are no longer detected: rotating is for a
    leaked key, and the audit event records when it happened.
    """
    if kind not in WatermarkKey.Kind.values:
        raise ValueError(f"unknown watermark key kind {kind!r}; choose one of {', '.join(WatermarkKey.Kind.values)}")
    if not actor.can("admin"):
        raise PermissionError("only a tenant admin can issue or rotate watermark keys")
    key = plaintext if plaintext is not None else secrets.token_urlsafe(32)
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"a watermark key needs at least {MIN_KEY_LENGTH} characters; got {len(key)}")
    tenant = actor.tenant
    key_id = key_fingerprint(kind, key)
    with transaction.atomic():
        retired = list(
            WatermarkKey.objects.select_for_update()
            .filter(tenant=tenant, kind=kind, retired_at__isnull=True)
            .values_list("key_id", flat=True)
        )
        WatermarkKey.objects.filter(tenant=tenant, kind=kind, retired_at__isnull=True).update(retired_at=timezone.now())
        WatermarkKey.objects.create(
            tenant=tenant, kind=kind, key_id=key_id, ciphertext=secret_box.encrypt(key), created_by=actor.label
        )
        append_event(tenant, actor.label, "watermark_key.issued",
                     payload={"kind": kind, "key_id": key_id, "imported": plaintext is not None, "retired": retired})
    return IssuedKey(key_id=key_id, kind=kind, plaintext=key)


def active_key(tenant: Tenant, kind: str) -> tuple[str, str] | None:
    """(key_id, plaintext) of the tenant's active key of ``kind``, or None."""
    row = WatermarkKey.objects.filter(tenant=tenant, kind=kind, retired_at__isnull=True).first()
    return (row.key_id, secret_box.decrypt(row.ciphertext)) if row else None


def detector_options(tenant: Tenant, detector_name: str) -> dict[str, Any]:
    """Pipeline provider (FORENSICS_TENANT_DETECTOR_PROVIDERS): the tenant's key for a watermark detector."""
    kind = DETECTOR_KEY_KIND.get(detector_name)
    found = active_key(tenant, kind) if kind else None
    return {"key": found[1]} if found else {}
