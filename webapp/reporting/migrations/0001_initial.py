# ReportExport moves here from provenance (issue 13). Its table, provenance_reportexport, stays as it is:
# this migration only tells Django's model state where the model now lives (no SQL on any database), and
# provenance 0007 removes it from provenance's state. The content type follows, so permissions keep pointing at it.

import uuid

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="provenance", new="reporting"):  # type: ignore[no-untyped-def]
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label=old, model="reportexport").update(
        app_label=new)


def move_content_type_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    move_content_type(apps, schema_editor, old="reporting", new="provenance")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_watermark_keys'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('provenance', '0006_job_lifecycle'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReportExport',
                    fields=[
                        ('stage', models.CharField(blank=True, help_text='What the worker is doing now.', max_length=80)),
                        ('progress', models.FloatField(default=0.0)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('requested_by', models.CharField(max_length=150)),
                        ('params', models.JSONField()),
                        ('format', models.CharField(max_length=8)),
                        ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=10)),
                        ('file', models.CharField(blank=True, max_length=300)),
                        ('signature', models.TextField(blank=True, help_text='Detached signature (CSV, PDF); JSON embeds its own.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='report_exports', to='accounts.tenant')),
                    ],
                    options={
                        'db_table': 'provenance_reportexport',
                        'ordering': ['-created_at'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
