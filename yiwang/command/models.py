"""The command centre's rollups (汇总): what the cases add up to, kept up to date in the same transaction as
every change of a case (yiwang.command.aggregates), rebuilt from scratch by `manage.py recount_aggregates`.

A *node* is a region or grid path ("211100000000/211102000000/") — every level of a case's path gets its
share, so a subtree's figure is one row, not a sum over its grids — or "u:<id>" for the case's lead unit.
Rows are never deleted by the upkeep; a row whose figures all went back to 0 means nothing.
"""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

# The figures, in yiwang.cases.measures' names, plus "closings" (cases closed, by the day they were closed).
# The first group is stamped with the time something happened (never later than now); the second with a
# deadline, which can lie in the future and is only "due" once it has passed.
EVENT_FIELDS = ["reported", "patrol", "accepted", "filed", "rated", "satisfied", "closings"]
DUE_FIELDS = ["due_handle", "handled", "handled_on_time", "handled_late", "extended",
              "due_close", "closed", "closed_on_time", "reworked", "resolved",
              "due_respond", "responded_on_time"]
FIELDS = EVENT_FIELDS + DUE_FIELDS


class Figures(models.Model):
    node = models.CharField(max_length=255)
    reported = models.IntegerField(default=0)
    patrol = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    filed = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    closings = models.IntegerField(default=0)
    due_handle = models.IntegerField(default=0)
    handled = models.IntegerField(default=0)
    handled_on_time = models.IntegerField(default=0)
    handled_late = models.IntegerField(default=0)
    extended = models.IntegerField(default=0)
    due_close = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    reworked = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    due_respond = models.IntegerField(default=0)
    responded_on_time = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DayFigures(Figures):
    """A node's figures on one local day (the day each figure's own time or deadline falls on)."""

    day = models.DateField()

    class Meta:
        verbose_name = _("day's figures")
        verbose_name_plural = _("days' figures")
        constraints = [models.UniqueConstraint(fields=["node", "day"], name="command_day_node_once")]

    def __str__(self):
        return f"{self.node} {self.day}"


class MonthFigures(Figures):
    """A node's figures in one local calendar month (`month` is its first day): its days summed."""

    month = models.DateField()

    class Meta:
        verbose_name = _("month's figures")
        verbose_name_plural = _("months' figures")
        constraints = [models.UniqueConstraint(fields=["node", "month"], name="command_month_node_once")]

    def __str__(self):
        return f"{self.node} {self.month:%Y-%m}"


SLOT_MINUTES = 15  # divides an hour: slots never straddle a day


class DueSlot(models.Model):
    """A node's deadline figures by the local quarter of an hour the deadline falls in (`start` is its start),
    kept only from the start of yesterday on (older rows are never read and are pruned): "due so far today" is
    today's slots up to the slot boundary nearest now (or the day's row less the slots after it), with the few
    cases due between that boundary and now counted exactly."""

    node = models.CharField(max_length=255)
    start = models.DateTimeField()
    due_handle = models.IntegerField(default=0)
    handled = models.IntegerField(default=0)
    handled_on_time = models.IntegerField(default=0)
    handled_late = models.IntegerField(default=0)
    extended = models.IntegerField(default=0)
    due_close = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    reworked = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    due_respond = models.IntegerField(default=0)
    responded_on_time = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("deadlines by quarter hour")
        verbose_name_plural = _("deadlines by quarter hour")
        constraints = [models.UniqueConstraint(fields=["node", "start"], name="command_slot_node_once")]
        indexes = [models.Index(fields=["start"], name="command_dueslot_start")]

    def __str__(self):
        return f"{self.node} {self.start:%Y-%m-%d %H:%M}"


NO_CLOCK = dt.date(9999, 12, 31)  # the due day of an open case without a running clock


class OpenCases(models.Model):
    """The open cases of a node (not closed, rated, rejected, merged or voided) by the local day their running
    deadline falls on (9999-12-31 when no clock runs): overdue now = the rows before today plus today's cases
    already past their deadline."""

    node = models.CharField(max_length=255)
    due_day = models.DateField()
    open = models.IntegerField(default=0)
    supervised = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("open cases")
        verbose_name_plural = _("open cases")
        constraints = [models.UniqueConstraint(fields=["node", "due_day"], name="command_open_node_once")]

    def __str__(self):
        return f"{self.node} due {self.due_day}: {self.open}"


class MonthMix(models.Model):
    """Cases reported in a month in a region's subtree (grids excluded), by category id or by channel."""

    node = models.CharField(max_length=255)
    month = models.DateField()
    dimension = models.CharField(max_length=16)  # "category" or "channel"
    value = models.CharField(max_length=32)
    n = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("month's mix")
        verbose_name_plural = _("months' mix")
        constraints = [models.UniqueConstraint(fields=["node", "month", "dimension", "value"],
                                               name="command_mix_once")]

    def __str__(self):
        return f"{self.node} {self.month:%Y-%m} {self.dimension}={self.value}: {self.n}"
