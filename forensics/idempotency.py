"""Idempotent submissions: the same ``Idempotency-Key`` and request return the same analysis."""
from __future__ import annotations

from typing import Callable

from django.db import IntegrityError, transaction

from forensics.models import Analysis, IdempotencyKey
from webapp.accounts.models import Tenant


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
