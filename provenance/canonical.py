"""The one canonical JSON: what audit-chain hashes and report signatures are computed over.

Sorted keys, no whitespace, UTF-8, NaN and Infinity refused (they are not JSON, and PostgreSQL's jsonb would
refuse them later anyway). Values on their way into the audit trail may hold datetimes or UUIDs: ``json_safe``
turns them into the strings the database will hand back, so what is hashed is what is stored.

Merging the audit's and the signer's former copies changed no byte for JSON-native values, so every existing
chain and signed report still verifies (tests/provenance/test_audit.py and test_signing.py check both).
"""
from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any, *, coerce: bool = False) -> bytes:
    """``value`` as canonical JSON bytes; with ``coerce``, anything JSON cannot hold becomes ``str(it)``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=str if coerce else None).encode("utf-8")


def json_safe(value: Any) -> Any:
    """``value`` as the plain JSON the database returns (datetimes, UUIDs and the like as strings)."""
    return json.loads(canonical_json(value, coerce=True))
