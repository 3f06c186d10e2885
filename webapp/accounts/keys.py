"""Creating and checking API keys.

Keys look like ``fk_<prefix>_<secret>``: the prefix finds the row, and the
SHA-256 of the whole key is compared in constant time. A slow password hash
is unnecessary for 256-bit random secrets.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.utils import timezone

from webapp.accounts.models import ApiKey, Tenant

KEY_PREFIX = "fk"
ALL_SCOPES = tuple(ApiKey.Scope.values)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown to the user once, never stored


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue_api_key(tenant: Tenant, name: str, scopes: list[str] | None = None) -> IssuedKey:
    """A new key; ``scopes=None`` grants every scope, an empty list is refused (it would mean "all" by mistake)."""
    scopes = list(ALL_SCOPES if scopes is None else scopes)
    if not scopes:
        raise ValueError(f"an API key needs at least one scope; choose from {list(ALL_SCOPES)}")
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; choose from {list(ALL_SCOPES)}")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(tenant=tenant, name=name, prefix=prefix, key_hash=_digest(plaintext), scopes=scopes)
    return IssuedKey(api_key=key, plaintext=plaintext)


def resolve_api_key(plaintext: str) -> ApiKey | None:
    """The active key matching ``plaintext``, or None."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = ApiKey.objects.select_related("tenant").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.key_hash, _digest(plaintext)):
        return None
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key
