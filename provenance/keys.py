"""The service's own Ed25519 key: it signs period reports and audit-chain checkpoints.

``provenance.signing`` is the pure-``cryptography`` half (no Django); this module only
says where the key lives (``FORENSICS_SIGNING_KEY``) and which public key is published.
"""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from provenance.signing import load_or_create_private_key, public_key_pem


def signing_key() -> Ed25519PrivateKey:
    return load_or_create_private_key(Path(settings.FORENSICS_SIGNING_KEY))


def published_public_key() -> str:
    """The PEM served at /.well-known/forensics-report-key.pem."""
    return public_key_pem(signing_key())
