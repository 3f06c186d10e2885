"""Encryption at rest for tenant secrets (watermark keys).

Fernet (AES-128-CBC + HMAC-SHA256) under a key-encryption key. Production
sets ``FORENSICS_KEY_ENCRYPTION_KEY`` (a Fernet key kept apart from the
database, e.g. in a secret manager); the embedded default derives one from
``SECRET_KEY`` with HKDF so `make run` needs no extra step. Either way a
database dump alone does not reveal a tenant's keys.
"""
from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretBoxError(RuntimeError):
    pass


@lru_cache(maxsize=4)
def _fernet(configured: str, secret_key: str) -> Fernet:
    if configured:
        try:
            return Fernet(configured.encode("ascii"))
        except ValueError:
            raise SecretBoxError(
                "FORENSICS_KEY_ENCRYPTION_KEY is not a Fernet key; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from None
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"forensics tenant secrets v1").derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _box() -> Fernet:
    return _fernet(settings.FORENSICS_KEY_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _box().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretBoxError(
            "a stored tenant secret cannot be decrypted: FORENSICS_KEY_ENCRYPTION_KEY (or, without it, "
            "DJANGO_SECRET_KEY) differs from the one it was encrypted with; restore that key"
        ) from None
