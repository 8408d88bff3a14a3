"""Writes to the working calendar: the holidays and make-up working days an admin enters by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.accounts.policies import can
from yiwang.core.errors import NotFound, PermissionRefused, invalid
from yiwang.core.services import audit_write, snapshot
from yiwang.workcal import calendar
from yiwang.workcal.models import CalendarVersion, WorkdayOverride


def _require(actor, action: str) -> None:
    """The calendar is one for the whole platform: a permission held anywhere is enough. `actor=None` is the
    system (management commands, seeds)."""
    if actor is not None and not can(actor, f"workcal.{action}_workdayoverride"):
        raise PermissionRefused()


def _check_date(date, field: str = "date") -> None:
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise invalid(_("A date is required."), "required", field)


def _check(*, is_workday, name: str, note: str) -> None:
    if not isinstance(is_workday, bool):
        raise invalid(_("Say whether the date is a working day."), "required", "is_workday")
    for field, value in (("name", name), ("note", note)):
        limit = WorkdayOverride._meta.get_field(field).max_length
        if len(value) > limit:
            raise invalid(_("At most %(n)d characters.") % {"n": limit}, "too_long", field)


def _changed() -> None:
    """Tell every process its calendar is stale: a new token in this transaction (other processes compare it),
    this process's tables dropped now and again after commit (a rebuild meanwhile may have read old rows)."""
    token = uuid.uuid4().hex
    if not CalendarVersion.objects.filter(pk=1).update(token=token):
        CalendarVersion.objects.create(pk=1, token=token)
    calendar.forget()
    transaction.on_commit(calendar.forget)


def _save(*, actor, date: dt.date, is_workday: bool, name: str, note: str | None,
          reason: str) -> tuple[WorkdayOverride, str]:
    """Create or update one row, journaled; the caller calls _changed(). Answers the row and what happened:
    "create", "update" or "" (nothing to change). A note of None keeps the stored one."""
    _check_date(date)
    override = WorkdayOverride.objects.select_for_update().filter(date=date).first()
    _require(actor, "change" if override else "add")
    name = (name or "").strip()
    note = (override.note if override else "") if note is None else note.strip()
    _check(is_workday=is_workday, name=name, note=note)
    if override is not None and (override.is_workday, override.name, override.note) == (is_workday, name, note):
        return override, ""
    before = snapshot(override) if override else None
    override = override or WorkdayOverride(date=date)
    override.is_workday, override.name, override.note = is_workday, name, note
    override.save()
    action = "update" if before else "create"
    audit_write(actor=actor, action=f"workday_override.{action}", obj=override, before=before,
                after=snapshot(override), reason=reason)
    return override, action


@transaction.atomic
def workday_override_save(*, actor, date: dt.date, is_workday: bool, name: str = "", note: str = "",
                          reason: str = "") -> WorkdayOverride:
    """Set whether people work on `date` (create or update its row), e.g. 2027-10-01 off "国庆节" or a
    Saturday on "国庆调休". Saving what is already there writes nothing."""
    override, action = _save(actor=actor, date=date, is_workday=is_workday, name=name, note=note or "",
                             reason=reason)
    if action:
        _changed()
    return override


@transaction.atomic
def workday_override_delete(*, actor, override: WorkdayOverride, reason: str = "") -> None:
    """Remove an override: the date goes back to the library (or to Monday–Friday)."""
    _require(actor, "delete")
    override = WorkdayOverride.objects.select_for_update().filter(pk=override.pk).first()
    if override is None:
        raise NotFound()
    audit_write(actor=actor, action="workday_override.delete", obj=override, before=snapshot(override),
                reason=reason)
    override.delete()
    _changed()


@dataclass(frozen=True)
class YearLoad:
    created: int
    updated: int
    unchanged: int


@transaction.atomic
def workday_year_load(*, actor, year: int, holidays: list[dt.date], workdays: list[dt.date], name: str = "",
                      reason: str = "") -> YearLoad:
    """Enter a year's days off and make-up working days at once (as the State Council publishes them), all or
    nothing. Rows for other dates of the year stay: load one holiday at a time with its name, or the year."""
    holidays, workdays = list(holidays), list(workdays)
    for field, days in (("holidays", holidays), ("workdays", workdays)):
        for day in days:
            _check_date(day, field)
            if day.year != year:
                raise invalid(_("%(day)s is not a date in %(year)s.") % {"day": day, "year": year},
                              "wrong_year", field)
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise invalid(_("A date cannot be both a day off and a working day: %(d)s") % {
            "d": ", ".join(d.isoformat() for d in both)}, "contradiction", "workdays")
    counts = {"create": 0, "update": 0, "": 0}
    for day, is_workday in sorted([(d, False) for d in set(holidays)] + [(d, True) for d in set(workdays)]):
        action = _save(actor=actor, date=day, is_workday=is_workday, name=name, note=None, reason=reason)[1]
        counts[action] += 1
    if counts["create"] or counts["update"]:
        _changed()
    return YearLoad(created=counts["create"], updated=counts["update"], unchanged=counts[""])
