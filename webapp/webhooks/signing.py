"""Signing webhook bodies, and the check a receiver runs (copy this file; it needs only the standard library).

Header: ``Forensics-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>``.
The timestamp is inside the MAC so a captured request cannot be replayed
later than ``tolerance_s``; receivers de-duplicate on ``Forensics-Delivery``.
"""
from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Forensics-Signature"
EVENT_HEADER = "Forensics-Event"
DELIVERY_HEADER = "Forensics-Delivery"


class SignatureError(ValueError):
    """The signature header is missing, malformed, too old, or does not match the body."""


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of the ``Forensics-Signature`` header for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={compute_signature(secret, t, body)}"


def verify_signature(secret: str, header: str, body: bytes, tolerance_s: int = 300, now: float | None = None) -> int:
    """Check a ``Forensics-Signature`` header against the raw request body; returns its timestamp.

    Raises SignatureError when it does not verify. Pass the body exactly as
    received (before any JSON parsing): re-serialised JSON does not match.
    Several ``v1=`` values are accepted so a secret can be rotated.
    """
    fields: dict[str, list[str]] = {}
    for part in (header or "").split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("no timestamp (t=...) in the signature header") from None
    if not fields.get("v1"):
        raise SignatureError("no v1 signature in the signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp is {abs(current - timestamp):.0f} s away from now (tolerance {tolerance_s} s)")
    expected = compute_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in fields["v1"]):
        raise SignatureError("signature does not match the body")
    return timestamp
