"""Make the per-unit ledger append-only inside the database, like the budget ledger (privacy/db_triggers.py)."""
from django.db import migrations

from privacy.db_triggers import UNIT_PG_FORWARD, UNIT_PG_REVERSE, UNIT_SQLITE_FORWARD, UNIT_SQLITE_REVERSE


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(UNIT_PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in UNIT_SQLITE_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(UNIT_PG_REVERSE)
    elif vendor == "sqlite":
        for statement in UNIT_SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0003_per_image_units")]
    operations = [migrations.RunPython(forward, reverse)]
