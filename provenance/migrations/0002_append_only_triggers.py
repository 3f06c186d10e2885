"""Make audit events append-only inside the database itself.

PostgreSQL: a trigger refuses every row UPDATE and DELETE. TRUNCATE stays
possible for the table owner (the test runner flushes with it); production
grants the app role no TRUNCATE (see README, "Audit trail").
SQLite (the embedded default): a trigger refuses UPDATE. DELETE stays
possible there because the test runner flushes tables with DELETE; the app
refuses it, and ``verify_audit`` catches removed events through the chain head.
"""
from django.db import migrations

from provenance.db_triggers import PG_FORWARD, PG_REVERSE, SQLITE_FORWARD, SQLITE_REVERSE


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("provenance", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
