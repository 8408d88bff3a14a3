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
     "core.view_auditentry", "notifications.view_webhooksubscription", "notifications.add_webhooksubscription",
     "notifications.change_webhooksubscription", "notifications.view_delivery", "notifications.change_delivery"]

CASE_VIEW = ["cases.view_case"]
# An administrator may give any default role in their area, and nobody can give what they do not hold, so the
# administrator holds every step of the loop.
CASE_ALL = ["cases.view_case", "cases.add_case", *(f"cases.{verb}_case" for verb in (
    "accept", "file", "dispatch", "handle", "verify", "self_handle", "rate", "reopen", "escalate",
    "request_extension", "approve_extension", "park", "void", "supervise", "view_contact"))]
REPORT = ["cases.add_case", "cases.view_case"]
# Issuing and switching off Open311 API keys (yiwang.open311) for client systems in the admin's area.
OPEN311_ADMIN = ["open311.view_apiclient", "open311.add_apiclient", "open311.change_apiclient"]
DESK = [*REPORT, "cases.accept_case", "cases.view_contact_case"]  # the acceptor's desk (受理)
# Bulk imports of hotline and legacy cases (yiwang.imports): upload, follow, stop and resume them.
IMPORT = ["imports.add_importrun", "imports.view_importrun", "imports.change_importrun"]

# code: (name — a msgid translated in the interface, staff role?, permissions)
DEFAULT_ROLES = {
    "admin": (gettext_noop("Administrator"), True, [*ADMIN, *CASE_ALL, *IMPORT, *OPEN311_ADMIN]),
    "acceptor": (gettext_noop("Acceptor"), True, [*BASE_READ, *DESK, *IMPORT]),
    "shift_lead": (gettext_noop("Shift leader"), True, [
        *BASE_READ, *DESK, "cases.file_case", "cases.dispatch_case", "cases.reopen_case", "cases.park_case",
        "cases.void_case", "cases.escalate_case", "cases.approve_extension_case", *IMPORT,
    ]),
    "dispatcher": (gettext_noop("Dispatcher"), True, [
        *BASE_READ, *CASE_VIEW, "cases.dispatch_case", "cases.approve_extension_case", "cases.escalate_case",
    ]),
    "unit_staff": (gettext_noop("Handling unit staff"), True, [
        *BASE_READ, *CASE_VIEW, "cases.handle_case", "cases.request_extension_case", "cases.escalate_case",
    ]),
    "grid_worker": (gettext_noop("Grid worker"), True, [
        *BASE_READ, "geo.change_grid_basedata", *REPORT, "cases.verify_case", "cases.self_handle_case",
        "cases.view_contact_case",
    ]),
    "community_staff": (gettext_noop("Community staff"), True, [
        *BASE_READ, "geo.change_grid_basedata", "org.add_committeemembership", "org.change_committeemembership",
        *REPORT, "cases.verify_case", "cases.escalate_case",
    ]),
    "leader": (gettext_noop("Leader"), True, [
        *BASE_READ, "core.view_auditentry", "accounts.view_user", *CASE_VIEW, "cases.supervise_case",
    ]),
    "resident": (gettext_noop("Resident"), False, ["accounts.view_user", *REPORT, "cases.rate_case"]),
    "enterprise": (gettext_noop("Enterprise"), False, ["accounts.view_user", *REPORT, "cases.rate_case"]),
    "party_member": (gettext_noop("Party member / volunteer"), False, ["accounts.view_user", *REPORT, "cases.rate_case"]),
    # The service user of an Open311 client system (yiwang.open311), held in the key's jurisdiction: it reports
    # and reads the cases there, and cannot sign in.
    "api_client": (gettext_noop("Open311 client system"), False, REPORT),
}
