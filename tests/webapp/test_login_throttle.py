"""Console log-in throttling: a username guessed from one address is locked out (even the right password),
the lock-out is audited, other users and addresses are not affected, and it ends after its window."""

import pytest
from django.core.cache import cache
from django.test import Client

from provenance.models import AuditEvent
from tests.conftest import make_user, wait_for

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def clean_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def log_in(username: str, password: str, address: str = "203.0.113.7",  # type: ignore[no-untyped-def]
           url: str = "/login/"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(url, {"username": username, "password": password})


def test_failures_lock_the_pair_out_and_the_lockout_is_audited(tenant, settings) -> None:
    settings.FORENSICS_LOGIN_MAX_FAILURES = 5
    make_user(tenant, "alice")
    make_user(tenant, "bob")
    statuses = [log_in("alice", f"guess-{i}")[1].status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the 5th failure starts the lock-out
    client, right = log_in("alice", PASSWORD)
    assert right.status_code == 429 and "Too many failed log-ins" in right.content.decode()
    assert "_auth_user_id" not in client.session  # the right password does not get through a lock-out
    event = AuditEvent.objects.get(action="auth.locked_out")
    assert event.tenant == tenant and event.payload["username"] == "alice" and event.payload["failures"] == 5
    assert event.payload["address"] == "203.0.113.7"
    assert log_in("bob", PASSWORD)[1].status_code == 302  # another user from that address
    assert log_in("alice", PASSWORD, address="198.51.100.9")[1].status_code == 302  # alice from elsewhere


def test_a_success_resets_the_count(tenant, settings) -> None:
    settings.FORENSICS_LOGIN_MAX_FAILURES = 3
    make_user(tenant, "alice")
    for _ in range(2):
        log_in("alice", "wrong")
    assert log_in("alice", PASSWORD)[1].status_code == 302
    assert [log_in("alice", "wrong")[1].status_code for _ in range(2)] == [200, 200]
    assert log_in("alice", PASSWORD)[1].status_code == 302


def test_the_lockout_ends_after_its_window(tenant, settings) -> None:
    settings.FORENSICS_LOGIN_MAX_FAILURES = 2
    settings.FORENSICS_LOGIN_LOCKOUT_SECONDS = 2
    make_user(tenant, "alice")
    assert [log_in("alice", "wrong")[1].status_code for _ in range(2)] == [200, 429]
    assert log_in("alice", PASSWORD)[1].status_code == 429
    wait_for(lambda: log_in("alice", PASSWORD)[1].status_code == 302, timeout=30, what="the lock-out to end")


def test_unknown_usernames_are_throttled_too_without_an_audit_chain(db, settings) -> None:
    settings.FORENSICS_LOGIN_MAX_FAILURES = 2
    assert [log_in("nobody", "x")[1].status_code for _ in range(3)] == [200, 429, 429]
    assert not AuditEvent.objects.exists()


def test_the_admin_log_in_is_throttled(tenant, settings) -> None:
    from django.contrib.auth import get_user_model

    settings.FORENSICS_LOGIN_MAX_FAILURES = 2
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    for _ in range(2):
        log_in("root", "wrong", url="/admin/login/")
    client, response = log_in("root", PASSWORD, url="/admin/login/")
    assert response.status_code == 200 and "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
