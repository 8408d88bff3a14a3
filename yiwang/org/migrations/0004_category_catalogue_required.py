import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Every category belongs to a catalogue (0003 put the existing ones into national version 1). A separate
    migration, because PostgreSQL refuses to alter a table with pending trigger events from 0003's updates."""

    dependencies = [
        ("org", "0003_national_catalogue"),
    ]

    operations = [
        migrations.AlterField(
            model_name="category",
            name="catalogue",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="categories",
                                    to="org.catalogue", verbose_name="catalogue"),
        ),
    ]
