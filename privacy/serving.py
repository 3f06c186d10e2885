"""Per-tenant detector options (shared contract 2): a tenant's active fine-tuned weights, for that tenant only.

Listed in ``FORENSICS_TENANT_DETECTOR_PROVIDERS``; the pipeline builds (and caches) a detector instance per
option set, so one tenant's private model never scores another tenant's media.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from privacy.models import TenantDetectorVersion


def active_version(tenant: Any, detector_name: str) -> TenantDetectorVersion | None:
    if tenant is None:
        return None
    return TenantDetectorVersion.objects.filter(tenant=tenant, detector=detector_name, active=True).first()


def detector_options(tenant: Any, detector_name: str) -> dict[str, Any]:
    version = active_version(tenant, detector_name)
    if version is None:
        return {}
    return {"weights": str((Path(settings.MEDIA_ROOT) / version.weights_path).resolve())}
