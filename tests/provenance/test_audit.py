"""The audit chain verifies, and tampering in the database itself is caught."""
import hashlib
import json
from datetime import UTC

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from provenance.audit import append_event, verify_chain
from provenance.db_triggers import SQLITE_FORWARD
from provenance.models import AppendOnlyError, AuditChainHead, AuditEvent


def three_events(tenant):  # type: ignore[no-untyped-def]
    return [append_event(tenant, "user:alice", f"test.step{i}", item_id="item-1", payload={"i": i}) for i in range(3)]


def test_chain_links_and_verifies(tenant) -> None:
    events = three_events(tenant)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].entry_hash
    report = verify_chain(tenant)
    assert report.ok and report.checked == 3 and report.head_hash == events[-1].entry_hash


def test_chains_are_per_tenant(tenant, other_tenant) -> None:
    three_events(tenant)
    other = append_event(other_tenant, "user:bob", "test.x")
    assert other.seq == 1
    assert verify_chain(other_tenant).ok and verify_chain(tenant).ok


def test_the_app_refuses_to_update_or_delete(tenant) -> None:
    event = three_events(tenant)[0]
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(tenant=tenant).update(actor="mallory")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(tenant=tenant).delete()


def test_the_database_refuses_a_raw_update(tenant) -> None:
    three_events(tenant)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE provenance_auditevent SET actor = 'mallory' WHERE seq = 2")


def _tamper(sql: str) -> None:
    """What an attacker with database-owner rights could do: bypass the trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser session can switch user triggers off for itself.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(sql)
            cursor.execute("SET session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER provenance_auditevent_append_only")
            cursor.execute(sql)
            cursor.execute(SQLITE_FORWARD)


def test_altered_payload_is_caught(tenant) -> None:
    three_events(tenant)
    _tamper("""UPDATE provenance_auditevent SET payload = '{"i": 42}' WHERE seq = 2""")
    report = verify_chain(tenant)
    assert not report.ok and report.first_broken_seq == 2 and "altered" in report.reason


def test_removed_event_is_caught(tenant) -> None:
    three_events(tenant)
    _tamper("DELETE FROM provenance_auditevent WHERE seq = 2")
    report = verify_chain(tenant)
    assert not report.ok and report.first_broken_seq == 2 and "missing" in report.reason


def test_truncated_tail_is_caught_by_the_head(tenant) -> None:
    three_events(tenant)
    _tamper("DELETE FROM provenance_auditevent WHERE seq = 3")
    report = verify_chain(tenant)
    assert not report.ok and "removed" in report.reason
    assert AuditChainHead.objects.get(tenant=tenant).seq == 3


def test_verify_audit_command_reports_the_broken_link(tenant, capsys) -> None:
    from django.core.management import call_command

    three_events(tenant)
    call_command("verify_audit")
    assert "acme: OK, 3 events" in capsys.readouterr().out
    _tamper("UPDATE provenance_auditevent SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit", tenant="acme")
    assert exit_info.value.code == 1
    assert "BROKEN at event #1" in capsys.readouterr().out


def test_signed_checkpoints_catch_a_rewritten_chain(tenant, capsys) -> None:
    """Rewrite history consistently (recompute every hash): the chain verifies, the checkpoint does not."""
    from provenance.audit import event_hash, hashed_fields
    from provenance.checkpoints import checkpoint

    three_events(tenant)
    assert checkpoint(tenant).seq == 3
    assert checkpoint(tenant) is None  # nothing new to sign
    call_command("verify_audit", tenant="acme")
    assert "acme: OK" in capsys.readouterr().out

    prev = "0" * 64
    for event in AuditEvent.objects.filter(tenant=tenant).order_by("seq"):
        event.payload = {"i": 100 + event.seq}
        event.prev_hash = prev
        event.entry_hash = event_hash(hashed_fields(event))
        payload = json.dumps(event.payload)
        _tamper(f"UPDATE provenance_auditevent SET payload = '{payload}', prev_hash = '{prev}', "
                f"entry_hash = '{event.entry_hash}' WHERE id = {event.id}")
        prev = event.entry_hash
    AuditChainHead.objects.filter(tenant=tenant).update(entry_hash=prev)
    assert verify_chain(tenant).ok  # a consistent rewrite fools the chain alone
    with pytest.raises(SystemExit):
        call_command("verify_audit", tenant="acme")
    assert "the chain was rewritten" in capsys.readouterr().out


def test_the_one_canonical_json_hashes_an_event_exactly_as_the_audit_log_always_did() -> None:
    """Merging the two canonical_json copies changed no byte: old chains still verify (pinned hash)."""
    from provenance.audit import event_hash

    fields = {"tenant": "acme", "seq": 1, "action": "analysis.submitted", "payload": {"é": [1, 2.5, None, True]},
              "prev_hash": "0" * 64}
    old_form = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    assert event_hash(fields) == hashlib.sha256(old_form.encode()).hexdigest()


def test_values_that_are_not_json_are_refused_or_turned_into_what_the_database_returns() -> None:
    import uuid
    from datetime import datetime

    from provenance.canonical import canonical_json, json_safe

    when, ident = datetime(2026, 12, 6, tzinfo=UTC), uuid.UUID(int=7)
    assert json_safe({"at": when, "id": ident}) == {"at": str(when), "id": str(ident)}
    with pytest.raises(ValueError):
        canonical_json({"score": float("nan")})
