from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiwang.core.admin_base import ScopedAdmin
from yiwang.core.errors import ValidationFailed
from yiwang.org import services
from yiwang.org.models import Category, CommitteeMembership, ResponsibilityRule, Unit


@admin.register(Unit)
class UnitAdmin(ScopedAdmin):
    list_display = ["code", "name", "kind", "party_level", "region", "parent", "is_active"]
    list_filter = ["kind", "party_level", "is_active"]
    search_fields = ["code", "name", "short_name"]
    autocomplete_fields = ["region", "parent"]
    list_select_related = ["region", "parent"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "region_path"] if obj else ["region_path"]

    def create(self, request, obj, form):
        return services.unit_create(actor=request.user, code=obj.code, name=obj.name, kind=obj.kind,
                                    region=obj.region, parent=obj.parent, party_level=obj.party_level,
                                    short_name=obj.short_name, contact_phone=obj.contact_phone)

    def update(self, request, obj, form, changes):
        return services.unit_update(actor=request.user, unit=obj, **changes)

    def remove(self, request, obj):
        services.unit_delete(actor=request.user, unit=obj)


@admin.register(CommitteeMembership)
class CommitteeMembershipAdmin(ScopedAdmin):
    list_display = ["host", "committee_kind", "unit", "position", "agreement_signed_on", "valid_from", "valid_to"]
    list_filter = ["committee_kind"]
    search_fields = ["host__name", "unit__name"]
    autocomplete_fields = ["host", "unit"]
    list_select_related = ["host", "unit"]

    def get_readonly_fields(self, request, obj=None):
        return ["committee_kind", "host", "unit", "position", "agreement_signed_on", "valid_from", "host_path"] \
            if obj else ["committee_kind", "host_path"]

    def create(self, request, obj, form):
        return services.committee_member_add(actor=request.user, host=obj.host, unit=obj.unit,
                                             valid_from=obj.valid_from, position=obj.position,
                                             agreement_signed_on=obj.agreement_signed_on)

    def update(self, request, obj, form, changes):
        return services.committee_member_end(actor=request.user, membership=obj, valid_to=changes.get("valid_to"))

    def remove(self, request, obj):
        raise ValidationFailed(_("Memberships are ended, not deleted."), code="read_only")


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    list_display = ["code", "name", "name_en", "kind", "parent", "default_unit_kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "name_en"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def _save(self, request, obj):
        return services.category_save(actor=request.user, code=obj.code, name=obj.name, parent=obj.parent,
                                      name_en=obj.name_en, kind=obj.kind, default_unit_kind=obj.default_unit_kind)

    def create(self, request, obj, form):
        return self._save(request, obj)

    def update(self, request, obj, form, changes):
        for name, value in changes.items():
            setattr(obj, name, value)
        return self._save(request, obj)

    def remove(self, request, obj):
        raise ValidationFailed(_("Categories are retired (made inactive), not deleted."), code="read_only")


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(ScopedAdmin):
    list_display = ["region", "category", "unit", "note"]
    search_fields = ["region__name", "category__name", "unit__name"]
    autocomplete_fields = ["region", "category", "unit"]
    list_select_related = ["region", "category", "unit"]
    readonly_fields = ["region_path"]

    def create(self, request, obj, form):
        return services.responsibility_set(actor=request.user, region=obj.region, unit=obj.unit,
                                           category=obj.category, note=obj.note)

    def update(self, request, obj, form, changes):
        if {"region", "category"} & set(changes):
            raise ValidationFailed(_("Change the unit or add a new rule; a rule's region and category are fixed."),
                                   code="read_only")
        return services.responsibility_set(actor=request.user, region=obj.region, category=obj.category,
                                           unit=changes.get("unit", obj.unit), note=changes.get("note", obj.note))

    def remove(self, request, obj):
        services.responsibility_delete(actor=request.user, rule=obj)
