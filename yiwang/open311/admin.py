from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from yiwang.core.admin_base import ScopedAdmin
from yiwang.core.errors import ValidationFailed
from yiwang.open311 import services
from yiwang.open311.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(ScopedAdmin):
    """Keys are issued here, through the service; the new key is shown once, on the page after saving."""

    list_display = ["name", "key_prefix", "region", "contact", "is_active", "created_at", "last_used_at"]
    list_select_related = ["region"]
    list_filter = ["is_active"]
    search_fields = ["name", "key_prefix", "contact"]
    autocomplete_fields = ["region"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "region", "contact"]
        return ["name", "contact", "is_active", "key_prefix", "region", "service_user", "created_at", "last_used_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["key_prefix", "region", "service_user", "created_at", "last_used_at"] if obj else []

    def create(self, request, obj, form):
        client, key = services.api_client_issue(actor=request.user, name=obj.name, region=obj.region,
                                                contact=obj.contact)
        request._open311_key = key  # shown by response_add, then forgotten
        return client

    def update(self, request, obj, form, changes):
        return services.api_client_update(actor=request.user, client=obj, **changes)

    def remove(self, request, obj):
        raise ValidationFailed(_("Switch a client off instead: its reports keep their author."), code="read_only")

    def response_add(self, request, obj, post_url_continue=None):
        key = getattr(request, "_open311_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "client": obj, "key": key,
                   "title": _("API key issued")}
        response = TemplateResponse(request, "admin/open311/apiclient/key_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response
