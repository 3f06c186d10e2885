"""Console log-in throttling: after ``FORENSICS_LOGIN_MAX_FAILURES`` failed attempts for one username from one
address within ``FORENSICS_LOGIN_LOCKOUT_SECONDS``, that pair is locked out for the same window — even the right
password is refused until it ends. The lock-out is an audit event in the user's tenant (and a log line).

Counters live in the shared cache (Redis in production, the file cache on the embedded default), so every web
process sees them. Keys are hashes: no username or address is written to the cache in clear.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.http import HttpRequest

from provenance.audit import append_event
from webapp.accounts.models import Membership

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str

    @classmethod
    def of(cls, request: HttpRequest | None, username: str) -> Attempt:
        address = (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"
        return cls(username=(username or "").strip().lower()[:150], address=address)

    def _key(self, kind: str) -> str:
        digest = hashlib.sha256(f"{self.username}\n{self.address}".encode()).hexdigest()[:32]
        return f"login:{kind}:{digest}"


def locked_for(attempt: Attempt) -> int:
    """Seconds left of this pair's lock-out, or 0."""
    until = cache.get(attempt._key("locked"))
    return max(0, int(until - time.time())) if until else 0


def record_failure(attempt: Attempt) -> bool:
    """Count a failed attempt; True when this one started a lock-out."""
    window = settings.FORENSICS_LOGIN_LOCKOUT_SECONDS
    key = attempt._key("failures")
    cache.add(key, 0, timeout=window)  # the window starts at the first failure
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures < settings.FORENSICS_LOGIN_MAX_FAILURES:
        return False
    cache.set(attempt._key("locked"), time.time() + window, timeout=window)
    cache.delete(key)
    _audit_lockout(attempt, failures, window)
    return True


def record_success(attempt: Attempt) -> None:
    cache.delete(attempt._key("failures"))


def _audit_lockout(attempt: Attempt, failures: int, window: int) -> None:
    fields = {"username": attempt.username, "address": attempt.address, "failures": failures, "locked_seconds": window}
    log.warning("console log-in locked out", extra=fields)
    user = get_user_model().objects.filter(username__iexact=attempt.username).first()
    membership = Membership.objects.select_related("tenant").filter(user=user).first() if user else None
    if membership is not None:  # an unknown username has no tenant chain; the log line records it
        append_event(membership.tenant, f"login:{attempt.username}", "auth.locked_out", payload=fields)
