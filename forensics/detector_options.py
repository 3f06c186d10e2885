"""The keyword arguments a detector is built with for one tenant.

Deployment-wide options come from ``FORENSICS_DETECTOR_OPTIONS``; tenant
options (a tenant's watermark keys, its privately fine-tuned weights) come
from providers listed in ``FORENSICS_TENANT_DETECTOR_PROVIDERS``, so the
pipeline never needs to know which app owns which per-tenant setting.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

Provider = Callable[[Any, str], dict[str, Any]]


@lru_cache(maxsize=32)
def _load_provider(path: str) -> Provider:
    return import_string(path)


def providers() -> list[Provider]:
    return [_load_provider(path) for path in settings.FORENSICS_TENANT_DETECTOR_PROVIDERS]


def options_for(tenant: Any, detector_name: str) -> dict[str, Any]:
    """Deployment options overlaid with every provider's options for this tenant (later providers win)."""
    options = dict(settings.FORENSICS_DETECTOR_OPTIONS.get(detector_name, {}))
    for provider in providers():
        options.update(provider(tenant, detector_name) or {})
    return options


def options_fingerprint(options: dict[str, Any]) -> str:
    """A cache key for a set of options that never keeps a secret in the clear."""
    canonical = json.dumps(options, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
