import copy

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils.translation import gettext_lazy as _

from yiwang.accounts import services
from yiwang.accounts.models import Role, RoleAssignment, User
from yiwang.core.admin_base import ScopedAdmin, ServiceRefusalMixin
from yiwang.core.errors import ValidationFailed


def _password_form_for(actor):
    class JournaledPasswordForm(AdminPasswordChangeForm):
        def save(self, commit=True):
            usable = self.cleaned_data.get("set_usable_password", True)
            return services.user_password_set(actor=actor, user=self.user,
                                              password=self.cleaned_data["password1"] if usable else None)

    return JournaledPasswordForm


class AssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    fields = ["role", "region", "grid", "unit", "valid_from", "valid_to"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "real_name", "masked_phone", "unit", "region", "is_active"]
    list_select_related = ["unit", "region"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["username", "real_name", "phone"]
    autocomplete_fields = ["region", "unit"]
    inlines = [AssignmentInline]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Person"), {"fields": ["real_name", "phone", "email", "region", "unit"]}),
        (_("Status"), {"fields": ["is_active", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "password1", "password2", "real_name", "phone", "region", "unit"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return obj.masked_phone if obj.phone else ""

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "username"] if obj else []

    def create(self, request, obj, form):
        usable = form.cleaned_data.get("set_usable_password", True)
        return services.user_create(actor=request.user, username=obj.username, real_name=obj.real_name,
                                    phone=obj.phone, region=obj.region, unit=obj.unit,
                                    password=form.cleaned_data.get("password1") if usable else None)

    def user_change_password(self, request, id, form_url=""):
        # Django's view saves through `change_password_form`; a per-request copy of this admin carries a form
        # that saves through the service instead, with this request's user as the actor.
        per_request = copy.copy(self)
        per_request.change_password_form = _password_form_for(request.user)
        return DjangoUserAdmin.user_change_password(per_request, request, id, form_url)

    def update(self, request, obj, form, changes):
        changes.pop("password", None)
        return services.user_update(actor=request.user, user=obj, **changes)

    def remove(self, request, obj):
        raise ValidationFailed(_("People are deactivated, not deleted, so their records keep their author."),
                               code="read_only")


@admin.register(Role)
class RoleAdmin(ServiceRefusalMixin, admin.ModelAdmin):
    list_display = ["code", "__str__", "is_staff_role"]
    search_fields = ["code", "name"]
    filter_horizontal = ["permissions"]

    def has_module_permission(self, request):
        return request.user.has_perm("accounts.view_role")

    def has_delete_permission(self, request, obj=None):
        return False  # roles in use are ended through their assignments, not deleted

    def save_model(self, request, obj, form, change):
        pass  # saved with its permissions in save_related, through the service

    def save_related(self, request, form, formsets, change):
        services.role_save(actor=request.user, role=form.instance, permissions=form.cleaned_data["permissions"])


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    list_display = ["user", "role", "scope_label", "valid_from", "valid_to"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__real_name"]
    autocomplete_fields = ["user", "region", "grid", "unit"]
    list_select_related = ["user", "role", "region", "grid", "unit"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "role", "region", "grid", "unit", "valid_from", "scope_path"] if obj else ["scope_path"]

    def create(self, request, obj, form):
        return services.role_assign(actor=request.user, user=obj.user, role=obj.role, region=obj.region,
                                    grid=obj.grid, unit=obj.unit, valid_from=obj.valid_from,
                                    valid_to=obj.valid_to, note=obj.note)

    def update(self, request, obj, form, changes):
        if set(changes) - {"valid_to", "note"} or not changes.get("valid_to"):
            raise ValidationFailed(_("An assignment is ended by giving its end date."), code="read_only")
        return services.role_assignment_end(actor=request.user, assignment=obj, valid_to=changes["valid_to"])

    def remove(self, request, obj):
        raise ValidationFailed(_("Assignments are ended, not deleted."), code="read_only")
