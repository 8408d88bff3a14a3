from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkdayOverride(models.Model):
    """A date whose working status is set by hand: the holidays (放假) and make-up working days (调休上班) of a
    year the holiday library does not know yet, or a correction of the library for any date."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(
        _("working day"), default=False,
        help_text=_("Ticked: people work that day (e.g. a make-up working day on a weekend). Unticked: a day off."),
    )
    name = models.CharField(_("name"), max_length=50, blank=True,
                            help_text=_("The holiday, e.g. National Day or National Day make-up working day."))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date.isoformat()} {self.name}".strip()


class CalendarVersion(models.Model):
    """A single token replaced in the same transaction as any override change, so every process can tell that
    its in-memory calendar is stale (a fresh random token, not a counter: a rolled-back change never comes
    back under a number a later change reuses)."""

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("working calendar version")
        verbose_name_plural = _("working calendar version")

    def __str__(self):
        return self.token
