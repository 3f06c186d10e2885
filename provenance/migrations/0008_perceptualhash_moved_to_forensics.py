# PerceptualHash now lives in forensics (issue 13), which took over the table provenance_perceptualhash
# as it is (see forensics 0009): this removes the model from provenance's state only, no SQL.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('forensics', '0009_perceptualhash_moved_from_provenance'),
        ('provenance', '0007_reportexport_moved_to_reporting'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='PerceptualHash')],
            database_operations=[],
        ),
    ]
