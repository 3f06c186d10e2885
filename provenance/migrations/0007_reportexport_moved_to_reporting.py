# ReportExport now lives in webapp.reporting (issue 13), which took over the table provenance_reportexport
# as it is (see reporting 0001): this removes the model from provenance's state only, no SQL.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('provenance', '0006_job_lifecycle'),
        ('reporting', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='ReportExport')],
            database_operations=[],
        ),
    ]
