from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.core import clock
from yiwang.core.admin_base import ScopedAdmin
from yiwang.workcal import calendar, services
from yiwang.workcal.models import WorkdayOverride


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = model_admin.get_queryset(request).dates("date", "year", order="DESC")
        return [(str(day.year), str(day.year)) for day in years]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=int(self.value())) if (self.value() or "").isdigit() else queryset


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(ScopedAdmin):
    list_display = ["date", "weekday", "is_workday", "name", "note"]
    list_filter = [YearFilter, "is_workday"]
    search_fields = ["name", "note"]
    ordering = ["-date"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return date_format(obj.date, "l")

    def get_readonly_fields(self, request, obj=None):
        return ["date"] if obj else []

    def changelist_view(self, request, extra_context=None):
        # The admin is where the missing year gets entered: say so where it is seen (workcal.W001 says it at
        # migrate time).
        this_year = timezone.localtime(clock.now()).year
        for year in (this_year, this_year + 1):
            if not calendar.year_is_known(year):
                messages.warning(request, gettext(
                    "The holidays of %(year)s are not known yet: until they are entered here, deadlines that year "
                    "count Monday to Friday as working days.") % {"year": year})
        return super().changelist_view(request, extra_context)

    def create(self, request, obj, form):
        return services.workday_override_save(actor=request.user, date=obj.date, is_workday=obj.is_workday,
                                              name=obj.name, note=obj.note)

    def update(self, request, obj, form, changes):
        values = {"is_workday": obj.is_workday, "name": obj.name, "note": obj.note, **changes}
        return services.workday_override_save(actor=request.user, date=obj.date, **values)

    def remove(self, request, obj):
        services.workday_override_delete(actor=request.user, override=obj)
