from django.contrib import admin
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from yiwang.core.admin_base import ScopedAdmin
from yiwang.geo import services
from yiwang.geo.geometry import boundary_svg
from yiwang.geo.models import Grid, GridStaff, Region


@admin.display(description=_("boundary drawing"))
def boundary_drawing(obj):
    # The SVG is built only from numbers formatted by boundary_svg, so it is safe to emit.
    return mark_safe(boundary_svg(obj.boundary))


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    list_display = ["code", "name", "level", "parent", "is_urban"]
    list_select_related = ["parent"]
    list_filter = ["level", "is_urban"]
    search_fields = ["code", "name"]
    readonly_fields = ["path", boundary_drawing]
    autocomplete_fields = ["parent"]
    fields = ["code", "name", "level", "parent", "is_urban", "path", boundary_drawing, "boundary"]

    def get_readonly_fields(self, request, obj=None):
        return ["path", "level", boundary_drawing] if obj else ["path", boundary_drawing]

    def create(self, request, obj, form):
        return services.region_create(actor=request.user, code=obj.code, name=obj.name, level=obj.level,
                                      parent=obj.parent, boundary=obj.boundary, is_urban=obj.is_urban)

    def update(self, request, obj, form, changes):
        return services.region_update(actor=request.user, region=obj, **changes)

    def remove(self, request, obj):
        services.region_delete(actor=request.user, region=obj)


class GridStaffInline(admin.TabularInline):
    model = GridStaff
    extra = 0
    fields = ["user", "duty", "unit", "valid_from", "valid_to"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Grid)
class GridAdmin(ScopedAdmin):
    list_display = ["code", "name", "community", "kind", "households", "population", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "community__name"]
    autocomplete_fields = ["community", "party_organisation"]
    readonly_fields = ["path", boundary_drawing, "min_lon", "min_lat", "max_lon", "max_lat"]
    fields = ["code", "name", "community", "kind", "households", "population", "party_organisation", "is_active",
              boundary_drawing, "boundary", "path", "min_lon", "min_lat", "max_lon", "max_lat"]
    inlines = [GridStaffInline]
    list_select_related = ["community"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._in_scope(request, obj, "geo.change_grid_basedata")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self._in_scope(request, obj, "change"):
            # Base-data keepers (grid workers, community staff) edit households and population only.
            return [f for f in self.fields if f not in services.GRID_BASE_DATA]
        return self.readonly_fields

    def create(self, request, obj, form):
        return services.grid_create(
            actor=request.user, code=obj.code, name=obj.name, community=obj.community, boundary=obj.boundary,
            kind=obj.kind, households=obj.households, population=obj.population,
            party_organisation=obj.party_organisation,
        )

    def update(self, request, obj, form, changes):
        return services.grid_update(actor=request.user, grid=obj, **changes)

    def remove(self, request, obj):
        services.grid_delete(actor=request.user, grid=obj)


@admin.register(GridStaff)
class GridStaffAdmin(ScopedAdmin):
    list_display = ["grid", "duty", "user", "unit", "valid_from", "valid_to"]
    list_filter = ["duty"]
    search_fields = ["grid__code", "grid__name", "user__username", "user__real_name"]
    autocomplete_fields = ["grid", "user", "unit"]
    list_select_related = ["grid", "user", "unit"]

    def get_readonly_fields(self, request, obj=None):
        return ["grid", "user", "duty", "unit", "valid_from"] if obj else []

    def create(self, request, obj, form):
        return services.grid_staff_assign(actor=request.user, grid=obj.grid, user=obj.user, duty=obj.duty,
                                          unit=obj.unit, valid_from=obj.valid_from, valid_to=obj.valid_to)

    def update(self, request, obj, form, changes):
        if set(changes) - {"valid_to"}:
            from yiwang.core.errors import ValidationFailed

            raise ValidationFailed(_("Only the end date of a staff assignment can change."), code="read_only")
        return services.grid_staff_end(actor=request.user, staff=obj, valid_to=changes["valid_to"])

    def remove(self, request, obj):
        from yiwang.core.errors import ValidationFailed

        raise ValidationFailed(_("Staff assignments are ended, not deleted."), code="read_only")
