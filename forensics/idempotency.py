"""Idempotent submissions: the same ``Idempotency-Key`` and request return the same analysis."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction

from forensics.models import Analysis, IdempotencyKey
from webapp.accounts.models import Tenant


def file_fingerprint(chunks: Iterable[bytes]) -> str:
    """What an upload is, for comparing a retried request: the SHA-256 of its bytes. (Name and size are not
    enough: a different file of the same name and size is a different request.)"""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return hashlib.sha256(f"file:{digest.hexdigest()}".encode()).hexdigest()


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(f"text:{text}".encode()).hexdigest()


class IdempotencyConflict(Exception):
    """The key was used for a different request, or its first request is still being processed."""


def run_once(tenant: Tenant, key: str, fingerprint: str, submit: Callable[[], Analysis]) -> tuple[Analysis, bool]:
    """``(analysis, replayed)``: runs ``submit`` only the first time a key is seen."""
    try:
        with transaction.atomic():
            claim = IdempotencyKey.objects.create(tenant=tenant, key=key, fingerprint=fingerprint)
    except IntegrityError:
        existing = IdempotencyKey.objects.select_related("analysis").get(tenant=tenant, key=key)
        if existing.fingerprint != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request") from None
        if existing.analysis is None:
            raise IdempotencyConflict("the first request with this Idempotency-Key is still being processed") from None
        return existing.analysis, True
    try:
        analysis = submit()
    except BaseException:
        claim.delete()  # a refused submission may be retried with the same key
        raise
    IdempotencyKey.objects.filter(pk=claim.pk).update(analysis=analysis)
    return analysis, False
