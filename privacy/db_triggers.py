"""SQL that makes the budget ledger append-only inside the database (used by migration 0002).

PostgreSQL: a trigger refuses every UPDATE and DELETE of a ledger row (TRUNCATE stays possible for the table
owner, as for the audit table; production grants the app role none).
SQLite: triggers refuse UPDATE always, and DELETE unless the connection is in :func:`ledger_maintenance`,
a per-connection switch exposed as the SQL function ``privacy_ledger_maintenance()``. The test suite needs it
to empty tables between tests (SQLite has no TRUNCATE); the app never enters it. A client without the
function (the sqlite3 shell) cannot delete at all: the trigger fails closed.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

TABLE = "privacy_budgetledgerentry"

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION privacy_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the budget ledger is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER privacy_ledger_append_only
  BEFORE UPDATE OR DELETE ON {TABLE}
  FOR EACH ROW EXECUTE FUNCTION privacy_ledger_append_only();
"""
PG_REVERSE = f"""
DROP TRIGGER IF EXISTS privacy_ledger_append_only ON {TABLE};
DROP FUNCTION IF EXISTS privacy_ledger_append_only();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS privacy_ledger_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the budget ledger is append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS privacy_ledger_no_delete BEFORE DELETE ON {TABLE}
        WHEN NOT privacy_ledger_maintenance()
        BEGIN SELECT RAISE(ABORT, 'the budget ledger is append-only: DELETE refused'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS privacy_ledger_no_update;",
                  "DROP TRIGGER IF EXISTS privacy_ledger_no_delete;"]

# The per-unit ledger (migration 0003) gets the same protection, reusing 0002's PostgreSQL function.
UNIT_TABLE = "privacy_unitreservation"
UNIT_PG_FORWARD = f"""
CREATE TRIGGER privacy_unit_ledger_append_only
  BEFORE UPDATE OR DELETE ON {UNIT_TABLE}
  FOR EACH ROW EXECUTE FUNCTION privacy_ledger_append_only();
"""
UNIT_PG_REVERSE = f"DROP TRIGGER IF EXISTS privacy_unit_ledger_append_only ON {UNIT_TABLE};"
UNIT_SQLITE_FORWARD = [
    f"""CREATE TRIGGER IF NOT EXISTS privacy_unit_ledger_no_update BEFORE UPDATE ON {UNIT_TABLE}
        BEGIN SELECT RAISE(ABORT, 'the unit ledger is append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS privacy_unit_ledger_no_delete BEFORE DELETE ON {UNIT_TABLE}
        WHEN NOT privacy_ledger_maintenance()
        BEGIN SELECT RAISE(ABORT, 'the unit ledger is append-only: DELETE refused'); END;""",
]
UNIT_SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS privacy_unit_ledger_no_update;",
                       "DROP TRIGGER IF EXISTS privacy_unit_ledger_no_delete;"]

_maintenance: contextvars.ContextVar[bool] = contextvars.ContextVar("privacy_ledger_maintenance", default=False)


@contextmanager
def ledger_maintenance() -> Iterator[None]:
    """Allow DELETE of ledger rows on SQLite for the duration (test teardown only)."""
    token = _maintenance.set(True)
    try:
        yield
    finally:
        _maintenance.reset(token)


def _register(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("privacy_ledger_maintenance", 0, lambda: int(_maintenance.get()),
                                              deterministic=False)


def connect() -> None:
    connection_created.connect(_register, dispatch_uid="privacy_ledger_maintenance")
