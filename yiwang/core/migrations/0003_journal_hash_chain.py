"""The journal becomes a hash chain (yiwang.core.journal): each entry carries the hash of the one before
it and its own.

Entries already written are chained in id order. The append-only triggers of 0002 would refuse the UPDATE
that takes, so they step aside and are put back at the end (on SQLite, adding a column or a constraint
rebuilds the table, which drops them anyway).
"""

import importlib

from django.db import migrations, models

BATCH = 2000


def _append_only():
    return importlib.import_module("yiwang.core.migrations.0002_audit_append_only")


def chain_existing(apps, schema_editor):
    from yiwang.core.journal import entry_hash

    triggers_off(apps, schema_editor)
    AuditEntry = apps.get_model("core", "AuditEntry")
    connection = schema_editor.connection
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    entries = AuditEntry.objects.using(connection.alias).order_by("id")
    tail, last_id = "", 0
    # Keyset pages rather than one cursor over the table being updated (SQLite gives no isolation between the
    # two); a plain UPDATE per row by id, batched with executemany, rather than bulk_update, whose
    # CASE WHEN id = … per batch grows with the square of the batch size.
    while page := list(entries.filter(id__gt=last_id)[:BATCH]):
        rows = []
        for entry in page:
            entry.prev_hash = tail
            entry.hash = tail = entry_hash(entry)
            rows.append((entry.prev_hash, entry.hash, entry.id))
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s", rows)
        last_id = page[-1].id


def triggers_off(apps, schema_editor):
    _append_only().backwards(apps, schema_editor)


def triggers_on(apps, schema_editor):
    _append_only().forwards(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]

    operations = [
        # Undone last, so that unapplying this migration leaves the triggers of 0002 in place.
        migrations.RunPython(migrations.RunPython.noop, triggers_on),
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(
                blank=True, default="", max_length=64, verbose_name="previous entry's hash"),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="hash"),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(fields=("prev_hash",), name="core_auditentry_one_successor"),
        ),
        # After the constraint: on SQLite adding it rebuilds the table too.
        migrations.RunPython(triggers_on, triggers_off),
    ]
