from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.policies import restrict
from yiwang.core.models import AuditEntry

admin.site.site_header = _("Yiwang grid governance")
admin.site.site_title = _("Yiwang")
admin.site.index_title = _("Administration")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The journal is read-only everywhere; the database refuses changes too."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_repr", "reason"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "object_id", "actor_name", "request_id"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), actor=request.user, action="view")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
