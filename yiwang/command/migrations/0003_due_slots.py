"""Deadlines by quarter hour (DueSlot) in place of by hour (DueHour): the exact count of the cases due in the
slot cut at now covers minutes, not up to an hour. The slot rows are rebuilt from the cases (only those with a
deadline from the start of yesterday on)."""

from django.db import migrations, models


def rebuild(apps, schema_editor):
    if not apps.get_model("cases", "Case").objects.exists():
        return  # a new database: nothing to count (and the code below may be newer than its schema)
    from yiwang.command.aggregates import rebuild_due_slots

    rebuild_due_slots()


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0003_attachment_media'),
        ('command', '0002_due_hours'),
    ]

    operations = [
        migrations.DeleteModel(name='DueHour'),
        migrations.CreateModel(
            name='DueSlot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('node', models.CharField(max_length=255)),
                ('start', models.DateTimeField()),
                ('due_handle', models.IntegerField(default=0)),
                ('handled', models.IntegerField(default=0)),
                ('handled_on_time', models.IntegerField(default=0)),
                ('handled_late', models.IntegerField(default=0)),
                ('extended', models.IntegerField(default=0)),
                ('due_close', models.IntegerField(default=0)),
                ('closed', models.IntegerField(default=0)),
                ('closed_on_time', models.IntegerField(default=0)),
                ('reworked', models.IntegerField(default=0)),
                ('resolved', models.IntegerField(default=0)),
                ('due_respond', models.IntegerField(default=0)),
                ('responded_on_time', models.IntegerField(default=0)),
            ],
            options={
                'verbose_name': 'deadlines by quarter hour',
                'verbose_name_plural': 'deadlines by quarter hour',
                'indexes': [models.Index(fields=['start'], name='command_dueslot_start')],
                'constraints': [models.UniqueConstraint(fields=('node', 'start'), name='command_slot_node_once')],
            },
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
