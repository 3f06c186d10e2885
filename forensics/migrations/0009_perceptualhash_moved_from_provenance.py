# PerceptualHash moves here from provenance (issue 13): it belongs to the media item, and the analysis's
# provenance stage (forensics.provenance_section) stores and searches it. Its table,
# provenance_perceptualhash, stays as it is: this migration only tells Django's model state where the
# model now lives (no SQL on any database), and provenance 0008 removes it from provenance's state.
# The content type follows, so permissions keep pointing at it.

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="provenance", new="forensics"):  # type: ignore[no-untyped-def]
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label=old, model="perceptualhash").update(
        app_label=new)


def move_content_type_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    move_content_type(apps, schema_editor, old="forensics", new="provenance")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_watermark_keys'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('forensics', '0008_detector_seconds'),
        ('provenance', '0007_reportexport_moved_to_reporting'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PerceptualHash',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('frame_index', models.IntegerField(default=-1, help_text='-1 for a still image')),
                        ('pdq', models.CharField(max_length=64)),
                        ('quality', models.PositiveSmallIntegerField()),
                        ('item', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='perceptual_hashes', to='forensics.mediaitem')),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='perceptual_hashes', to='accounts.tenant')),
                    ],
                    options={
                        'db_table': 'provenance_perceptualhash',
                        'indexes': [models.Index(fields=['tenant', 'quality'], name='provenance__tenant__a56da4_idx')],
                        'constraints': [models.UniqueConstraint(fields=('item', 'frame_index'), name='one_hash_per_frame')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
