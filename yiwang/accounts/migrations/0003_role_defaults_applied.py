"""Roles remember which default permissions the installer granted them, so a new version can add its new
default permissions to existing roles exactly once. Roles installed before this migration are marked as having
received the defaults of that time (frozen below), so permissions an admin removed are not granted again."""

from django.db import migrations, models

DEFAULTS_BEFORE = {"admin": ["accounts.add_role", "accounts.add_roleassignment", "accounts.add_user", "accounts.change_role", "accounts.change_roleassignment", "accounts.change_user", "accounts.delete_roleassignment", "accounts.delete_user", "accounts.view_role", "accounts.view_roleassignment", "accounts.view_user", "core.view_auditentry", "geo.add_grid", "geo.add_gridstaff", "geo.add_region", "geo.change_grid", "geo.change_grid_basedata", "geo.change_gridstaff", "geo.change_region", "geo.delete_grid", "geo.delete_gridstaff", "geo.delete_region", "geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.add_category", "org.add_committeemembership", "org.add_responsibilityrule", "org.add_unit", "org.change_category", "org.change_committeemembership", "org.change_responsibilityrule", "org.change_unit", "org.delete_category", "org.delete_committeemembership", "org.delete_responsibilityrule", "org.delete_unit", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "acceptor": ["geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "shift_lead": ["geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "dispatcher": ["geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "unit_staff": ["geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "grid_worker": ["geo.change_grid_basedata", "geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "community_staff": ["geo.change_grid_basedata", "geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.add_committeemembership", "org.change_committeemembership", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "leader": ["accounts.view_user", "core.view_auditentry", "geo.view_grid", "geo.view_gridstaff", "geo.view_region", "org.view_category", "org.view_committeemembership", "org.view_responsibilityrule", "org.view_unit"], "resident": ["accounts.view_user"], "enterprise": ["accounts.view_user"], "party_member": ["accounts.view_user"]}


def mark(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.filter(code__in=DEFAULTS_BEFORE):
        role.defaults_applied = DEFAULTS_BEFORE[role.code]
        role.save(update_fields=["defaults_applied"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]
    operations = [
        migrations.AddField(
            model_name="role", name="defaults_applied",
            field=models.JSONField(blank=True, default=list, editable=False, verbose_name="default permissions applied"),
        ),
        migrations.RunPython(mark, migrations.RunPython.noop),
    ]
