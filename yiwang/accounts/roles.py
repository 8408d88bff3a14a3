"""The default roles a new installation starts with. They are data: an admin edits them freely afterwards;
`roles_ensure_defaults` only creates roles that are missing and never overwrites an edited one."""

from django.utils.translation import gettext_noop

BASE_READ = ["geo.view_region", "geo.view_grid", "geo.view_gridstaff", "org.view_unit", "org.view_category",
             "org.view_catalogue", "org.view_categorytimelimit", "org.view_responsibilityrule",
             "org.view_committeemembership"]
ADMIN = [
    f"{app}.{action}_{model}"
    for app, model in [("geo", "region"), ("geo", "grid"), ("geo", "gridstaff"), ("org", "unit"),
                       ("org", "catalogue"), ("org", "category"), ("org", "categorytimelimit"),
                       ("org", "responsibilityrule"), ("org", "committeemembership"),
                       ("accounts", "user"), ("accounts", "roleassignment"), ("workcal", "workdayoverride")]
    for action in ("view", "add", "change", "delete")
] + ["geo.change_grid_basedata", "accounts.view_role", "accounts.add_role", "accounts.change_role",
     "core.view_auditentry"]

# code: (name — a msgid translated in the interface, staff role?, permissions)
DEFAULT_ROLES = {
    "admin": (gettext_noop("Administrator"), True, ADMIN),
    "acceptor": (gettext_noop("Acceptor"), True, BASE_READ),
    "shift_lead": (gettext_noop("Shift leader"), True, BASE_READ),
    "dispatcher": (gettext_noop("Dispatcher"), True, BASE_READ),
    "unit_staff": (gettext_noop("Handling unit staff"), True, BASE_READ),
    "grid_worker": (gettext_noop("Grid worker"), True, [*BASE_READ, "geo.change_grid_basedata"]),
    "community_staff": (gettext_noop("Community staff"), True, [
        *BASE_READ, "geo.change_grid_basedata", "org.add_committeemembership", "org.change_committeemembership",
    ]),
    "leader": (gettext_noop("Leader"), True, [*BASE_READ, "core.view_auditentry", "accounts.view_user"]),
    "resident": (gettext_noop("Resident"), False, ["accounts.view_user"]),
    "enterprise": (gettext_noop("Enterprise"), False, ["accounts.view_user"]),
    "party_member": (gettext_noop("Party member / volunteer"), False, ["accounts.view_user"]),
}
