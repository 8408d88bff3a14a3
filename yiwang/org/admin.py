from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from yiwang.core.admin_base import ScopedAdmin
from yiwang.core.errors import DomainError, ValidationFailed
from yiwang.org import services
from yiwang.org.choices import CatalogueStatus
from yiwang.org.models import (
    Catalogue,
    Category,
    CategoryTimeLimit,
    CommitteeMembership,
    ResponsibilityRule,
    Unit,
)


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


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0
    fields = ["code", "name", "parent", "kind", "default_urgency", "is_active"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    ordering = ["code"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent")


@admin.register(Catalogue)
class CatalogueAdmin(ScopedAdmin):
    list_display = ["name", "version", "region", "status", "activated_at"]
    list_filter = ["status"]
    search_fields = ["name", "region__name", "region__code"]
    autocomplete_fields = ["region"]
    list_select_related = ["region"]
    fields = ["region", "name", "note", "version", "status", "activated_at"]
    inlines = [CategoryInline]
    actions = ["clone_selected", "activate_selected"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["version", "status", "activated_at"]
        return ["region", "version", "status", "activated_at", *([] if obj.is_draft else ["name", "note"])]

    def create(self, request, obj, form):
        return services.catalogue_create(actor=request.user, region=obj.region, name=obj.name, note=obj.note)

    def update(self, request, obj, form, changes):
        return services.catalogue_update(actor=request.user, catalogue=obj, **changes)

    def remove(self, request, obj):
        raise ValidationFailed(_("Catalogues are retired by activating a newer version, not deleted."),
                               code="read_only")

    def _each(self, request, queryset, service, done_message):
        for catalogue in queryset:
            try:
                with transaction.atomic():
                    result = service(actor=request.user, catalogue=catalogue)
            except DomainError as exc:
                self.message_user(request, f"{catalogue}: {exc.message} [{exc.code}]", messages.ERROR)
            else:
                self.message_user(request, done_message % {"c": result}, messages.SUCCESS)

    @admin.action(description=_("Clone into a new draft version"), permissions=["add"])
    def clone_selected(self, request, queryset):
        self._each(request, queryset, services.catalogue_clone, _("Draft %(c)s created."))

    @admin.action(description=_("Activate (retires the jurisdiction's current version)"), permissions=["change"])
    def activate_selected(self, request, queryset):
        self._each(request, queryset, services.catalogue_activate, _("%(c)s is now active."))


class CategoryTimeLimitInline(admin.TabularInline):
    """Edited with the category; each row is saved through the limit services (CategoryAdmin.save_related)."""

    model = CategoryTimeLimit
    extra = 0
    fields = ["step", "urgency", "amount", "unit"]
    ordering = ["step", "urgency"]

    def _draft(self, obj):
        return obj is None or obj.catalogue.is_draft

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    list_display = ["code", "name", "catalogue", "parent", "kind", "default_urgency", "default_unit_kind", "is_active"]
    list_filter = ["catalogue", "kind", "default_urgency", "is_active"]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["catalogue", "parent"]
    fields = ["catalogue", "code", "name", "name_en", "kind", "parent", "default_unit_kind", "default_urgency",
              "filing_condition", "closing_condition", "form_questions", "is_active"]
    inlines = [CategoryTimeLimitInline]

    def get_readonly_fields(self, request, obj=None):
        return ["catalogue", "code"] if obj else []

    def has_change_permission(self, request, obj=None):
        # Only drafts change; an active or retired version is shown read-only.
        return super().has_change_permission(request, obj) and (obj is None or obj.catalogue.is_draft)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "catalogue":
            field.queryset = field.queryset.filter(status=CatalogueStatus.DRAFT)
        elif db_field.name == "parent":
            field.queryset = field.queryset.filter(parent__isnull=True, catalogue__status=CatalogueStatus.DRAFT)
        return field

    def _save(self, request, obj):
        return services.category_save(
            actor=request.user, catalogue=obj.catalogue, code=obj.code, name=obj.name, parent=obj.parent,
            name_en=obj.name_en, kind=obj.kind, default_unit_kind=obj.default_unit_kind,
            default_urgency=obj.default_urgency, filing_condition=obj.filing_condition,
            closing_condition=obj.closing_condition, form_questions=obj.form_questions, is_active=obj.is_active,
        )

    def create(self, request, obj, form):
        return self._save(request, obj)

    def update(self, request, obj, form, changes):
        for name, value in changes.items():
            setattr(obj, name, value)
        return self._save(request, obj)

    def remove(self, request, obj):
        raise ValidationFailed(_("Categories are retired (made inactive), not deleted."), code="read_only")

    def save_related(self, request, form, formsets, change):
        category = form.instance
        for formset in formsets:
            if formset.model is not CategoryTimeLimit:
                continue
            for inline in formset.forms:
                data = getattr(inline, "cleaned_data", None)
                if not data:
                    continue
                stored = CategoryTimeLimit.objects.filter(pk=inline.instance.pk).first() if inline.instance.pk \
                    else None
                if data.get("DELETE"):
                    if stored is not None:
                        services.category_limit_delete(actor=request.user, limit=stored)
                    continue
                if not inline.has_changed():
                    continue
                if stored is not None and (stored.step, stored.urgency) != (data["step"], data["urgency"]):
                    services.category_limit_delete(actor=request.user, limit=stored)
                services.category_limit_set(actor=request.user, category=category, step=data["step"],
                                            urgency=data["urgency"], amount=data["amount"], unit=data["unit"])
        super().save_related(request, form, formsets, change)


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
