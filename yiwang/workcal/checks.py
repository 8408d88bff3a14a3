"""System checks: the working hours parse, and the calendar knows this year and the next."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import clock
from yiwang.workcal import calendar


@checks.register("workcal")
def check_working_hours(app_configs=None, **kwargs):
    try:
        calendar.parse_working_hours(settings.YIWANG_WORKING_HOURS)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint=_("For example 08:30-12:00,13:30-17:30."), id="workcal.E001")]
    return []


# Tagged "database": it reads the override table, so it runs where a database is at hand (migrate,
# check --database default), not in a plain `check` that may run before the database exists.
@checks.register("workcal", checks.Tags.database)
def check_years_known(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    this_year = timezone.localtime(clock.now()).year
    try:
        unknown = [year for year in (this_year, this_year + 1) if not calendar.year_is_known(year)]
    except DatabaseError:  # not migrated yet
        return []
    return [
        checks.Warning(
            _("The working calendar does not know the holidays of %(year)s: deadlines that year count Monday to "
              "Friday as working days.") % {"year": year},
            hint=_("Enter %(year)s's holidays and make-up working days under Working calendar › Working-day "
                   "overrides in the admin (or manage.py workdays_import FILE.csv).") % {"year": year},
            id="workcal.W001",
        )
        for year in unknown
    ]
