"""Cases in the admin are for looking things up: every change goes through the loop (the API and the consoles),
so the admin is read-only here."""

from django.contrib import admin

from yiwang.cases.models import Case, CaseDeadline, CaseHandler
from yiwang.core.admin_base import ScopedAdmin


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HandlerInline(_ReadOnlyInline):
    model = CaseHandler
    fields = ["unit", "role", "assigned_at", "ended_at", "end_reason"]
    readonly_fields = fields


class DeadlineInline(_ReadOnlyInline):
    model = CaseDeadline
    fields = ["step", "amount", "unit", "started_at", "warn_at", "due_at", "paused_at", "warned_at", "breached_at",
              "ended_at", "met"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ScopedAdmin):
    list_display = ["number", "status", "category", "urgency", "channel", "level", "lead_unit", "reported_at",
                    "due_at", "supervised"]
    list_filter = ["status", "urgency", "channel", "supervised", "self_handled"]
    search_fields = ["number", "external_ref", "description", "address"]
    list_select_related = ["category", "level", "lead_unit"]
    date_hierarchy = "reported_at"
    inlines = [HandlerInline, DeadlineInline]
    exclude = ["reporter_phone", "reporter_name"]  # personal data stays in the consoles that mask it

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
