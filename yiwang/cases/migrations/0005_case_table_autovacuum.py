"""PostgreSQL: vacuum and analyse the cases table after every ten or twenty thousand changed rows, not after a
fifth of the table (the default: two million rows at ten million cases). The command centre reads the open
cases from the case_open_latest index alone, which only works on pages vacuum has marked all-visible, and its
plans rely on fresh statistics. Vacuum skips the pages still all-visible, so each run is short."""

from django.db import migrations

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "10000",
    "autovacuum_vacuum_insert_scale_factor": "0",
    "autovacuum_vacuum_insert_threshold": "10000",
    "autovacuum_analyze_scale_factor": "0",
    "autovacuum_analyze_threshold": "20000",
}


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("cases", "Case")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} SET ({', '.join(f'{k} = {v}' for k, v in SETTINGS.items())})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("cases", "Case")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0004_case_open_latest'),
    ]

    operations = [
        migrations.RunPython(tune, untune),
    ]
