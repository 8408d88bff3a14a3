"""The Chinese working calendar that case deadlines are counted in.

A date is a working day if an override row says so; otherwise the `chinesecalendar` library decides (it knows
the public holidays and the weekend make-up working days, 调休, of the years it ships); for a year it does not
know, Monday to Friday. Working time is the YIWANG_WORKING_HOURS periods of working days, in the local time
zone (settings.TIME_ZONE).

Each process keeps one table per year in memory. Any override change replaces a token in the database in the
same transaction; the process that made it drops its tables at once, and every other process (web workers,
task workers) compares its token with the database at most every RECHECK_SECONDS — so steady-state calls do
not touch the database.
"""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
import functools
import re
import threading
import time
from dataclasses import dataclass

import chinese_calendar
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from yiwang.workcal.choices import LimitUnit

# How often (seconds) a process compares its calendar with the database.
RECHECK_SECONDS = 2.0
# add() gives up when this many years in a row hold no working day (a data-entry accident, not a calendar).
_MAX_EMPTY_YEARS = 10
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR


# --------------------------------------------------------------------------- working hours


_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_working_hours(raw: str) -> list[tuple[dt.time, dt.time]]:
    """"08:30-12:00,13:30-17:30" → [(08:30, 12:00), (13:30, 17:30)]; ImproperlyConfigured unless the periods
    are well formed, ascending and non-overlapping."""
    periods: list[tuple[dt.time, dt.time]] = []
    for part in (raw or "").split(","):
        match = _PERIOD.match(part)
        if not match:
            raise ImproperlyConfigured(f"YIWANG_WORKING_HOURS={raw!r}: {part.strip()!r} is not HH:MM-HH:MM.")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError:
            raise ImproperlyConfigured(f"YIWANG_WORKING_HOURS={raw!r}: {part.strip()!r} is not a time of day.") \
                from None
        if start >= end:
            raise ImproperlyConfigured(f"YIWANG_WORKING_HOURS={raw!r}: {part.strip()!r} ends before it starts.")
        if periods and start < periods[-1][1]:
            raise ImproperlyConfigured(
                f"YIWANG_WORKING_HOURS={raw!r}: the periods must be in order and must not overlap.")
        periods.append((start, end))
    return periods


def working_periods() -> list[tuple[dt.time, dt.time]]:
    """The working periods of a working day, from settings.YIWANG_WORKING_HOURS."""
    return list(_hours(settings.YIWANG_WORKING_HOURS).periods)


@dataclass(frozen=True)
class _Hours:
    periods: tuple[tuple[dt.time, dt.time], ...]
    spans: tuple[tuple[int, int], ...]  # the periods in microseconds since midnight
    day_length: int  # microseconds of working time in a working day


@functools.lru_cache(maxsize=8)
def _hours(raw: str) -> _Hours:
    periods = parse_working_hours(raw)
    spans = tuple((_us_of_time(start), _us_of_time(end)) for start, end in periods)
    return _Hours(periods=tuple(periods), spans=spans, day_length=sum(end - start for start, end in spans))


def _us_of_time(value: dt.time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _position(hours: _Hours, us: int) -> int:
    """Working microseconds of a working day before the time of day `us`."""
    return sum(min(max(us - start, 0), end - start) for start, end in hours.spans)


def _time_at(hours: _Hours, position: int) -> dt.time:
    """The earliest time of day at which `position` (0 < position <= day length) working microseconds of a
    working day have passed — the end of the morning, not the start of the afternoon."""
    passed = 0
    for start, end in hours.spans:
        if position <= passed + end - start:
            us = start + position - passed
            return dt.time(us // _US_PER_HOUR, us // 60_000_000 % 60, us // 1_000_000 % 60, us % 1_000_000)
        passed += end - start
    raise ValueError(position)


# --------------------------------------------------------------------------- working days


@dataclass(frozen=True)
class _Year:
    year: int
    known: bool  # the library knows the year, or it has at least one override row
    workdays: bytes  # 1 for a working day, by day of the year (0 = 1 January)
    before: tuple[int, ...]  # before[i]: working days among days 0 … i-1 (so before[-1] is the year's total)

    def index(self, day: dt.date) -> int:
        return day.toordinal() - dt.date(self.year, 1, 1).toordinal()


class _State:
    def __init__(self):
        self.token: str | None = None
        self.checked_at = float("-inf")
        self.years: dict[int, _Year] = {}


_state = _State()
_lock = threading.Lock()


def forget() -> None:
    """Drop this process's tables; the next call rebuilds them from the database. The services call it after
    every change (at once and after commit); tests call it between tests, whose rollbacks leave no trace the
    token could show."""
    with _lock:
        _state.token, _state.checked_at, _state.years = None, float("-inf"), {}


def _db_token() -> str:
    from yiwang.workcal.models import CalendarVersion

    return CalendarVersion.objects.filter(pk=1).values_list("token", flat=True).first() or ""


@functools.cache
def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _build_year(year: int) -> _Year:
    from yiwang.workcal.models import WorkdayOverride

    overrides = dict(WorkdayOverride.objects.filter(date__year=year).values_list("date", "is_workday"))
    library = _library_knows(year)
    first = dt.date(year, 1, 1)
    flags = bytearray()
    for offset in range((dt.date(year + 1, 1, 1) - first).days):
        day = first + dt.timedelta(days=offset)
        if day in overrides:
            flags.append(overrides[day])
        elif library:
            flags.append(chinese_calendar.is_workday(day))
        else:
            flags.append(day.weekday() < 5)
    before = [0]
    for flag in flags:
        before.append(before[-1] + flag)
    return _Year(year=year, known=library or bool(overrides), workdays=bytes(flags), before=tuple(before))


def _current_years() -> dict[int, _Year]:
    if time.monotonic() - _state.checked_at < RECHECK_SECONDS:
        return _state.years
    with _lock:
        if time.monotonic() - _state.checked_at >= RECHECK_SECONDS:
            token = _db_token()
            if token != _state.token:
                _state.token, _state.years = token, {}
            _state.checked_at = time.monotonic()
        return _state.years


def _year(year: int) -> _Year:
    years = _current_years()
    data = years.get(year)
    if data is None:
        data = _build_year(year)
        with _lock:
            if _state.years is years:  # not dropped meanwhile
                years[year] = data
    return data


def _local_date(day: dt.date) -> dt.date:
    if isinstance(day, dt.datetime):
        return _local(day).date() if timezone.is_aware(day) else day.date()
    return day


def is_workday(day: dt.date) -> bool:
    """Whether people work on `day` (a datetime counts by its local date)."""
    day = _local_date(day)
    data = _year(day.year)
    return bool(data.workdays[data.index(day)])


def year_is_known(year: int) -> bool:
    """Whether the library knows the year's holidays or an admin has entered at least one date of it."""
    return _year(year).known


def _workdays_between(first: dt.date, last: dt.date) -> int:
    """Working days from `first` to `last`, both included (0 if last < first)."""
    total = 0
    for year in range(first.year, last.year + 1):
        data = _year(year)
        lo = data.index(max(first, dt.date(year, 1, 1)))
        hi = data.index(min(last, dt.date(year, 12, 31)))
        if lo <= hi:
            total += data.before[hi + 1] - data.before[lo]
    return total


def _nth_workday_after(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n >= 1)."""
    year, empty = day.year, 0
    data = _year(year)
    seen = data.before[data.index(day) + 1]
    while True:
        total = data.before[-1]
        if seen + n <= total:
            return dt.date(year, 1, 1) + dt.timedelta(days=bisect.bisect_left(data.before, seen + n) - 1)
        n -= total - seen
        empty = empty + 1 if total == 0 else 0
        if empty >= _MAX_EMPTY_YEARS:
            raise ValueError(f"No working day in the {_MAX_EMPTY_YEARS} years up to {year}: check the overrides.")
        year, seen = year + 1, 0
        data = _year(year)


# --------------------------------------------------------------------------- deadlines


def _local(value: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise ValueError(f"An aware datetime is needed, not {value!r}.")
    return value.astimezone(timezone.get_default_timezone())


def _check_unit(unit: str) -> None:
    if unit not in LimitUnit.values:
        raise ValueError(f"Unknown time-limit unit {unit!r}; expected one of {', '.join(LimitUnit.values)}.")


def _microseconds(amount, per_unit: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int | float | decimal.Decimal):
        raise ValueError(f"A time limit is a number, not {amount!r}.")
    value = decimal.Decimal(str(amount)) if isinstance(amount, float) else decimal.Decimal(amount)
    if not value.is_finite() or value < 0:
        raise ValueError(f"A time limit is a finite number >= 0, not {amount!r}.")
    return int((value * per_unit).to_integral_value(rounding=decimal.ROUND_HALF_EVEN))


def add(start: dt.datetime, amount, unit: str) -> dt.datetime:
    """The instant `amount` natural hours, working hours or working days after `start` (aware), in local time.

    Working time that has not begun yet (an evening, a lunch break, a weekend, a holiday) starts counting at the
    next working period. A working day is as long as a day's working periods, so N working days fall due at
    the same working time of day on the N-th following working day; counted from outside working time, at the
    end of the N-th working day. A deadline that lands on the boundary of two working periods is the end of the
    earlier one (12:00 rather than 13:30, 17:30 rather than 08:30 the next working day): the earliest instant
    at which the time is up.
    """
    _check_unit(unit)
    local = _local(start)
    if unit == LimitUnit.NATURAL_HOURS:
        # On the absolute time line, so a daylight-saving change (none in Asia/Shanghai) could not bend it.
        return _local(start.astimezone(dt.UTC) + dt.timedelta(microseconds=_microseconds(amount, _US_PER_HOUR)))
    hours = _hours(settings.YIWANG_WORKING_HOURS)
    per_unit = _US_PER_HOUR if unit == LimitUnit.WORKING_HOURS else hours.day_length
    needed = _microseconds(amount, per_unit)
    if needed == 0:
        return local
    day = local.date()
    if is_workday(day):
        position = _position(hours, _us_of_time(local.time()))
        if needed <= hours.day_length - position:
            return _at(day, _time_at(hours, position + needed))
        needed -= hours.day_length - position
    days = -(-needed // hours.day_length)  # the deadline falls on the days-th working day after `day`
    day = _nth_workday_after(day, days)
    return _at(day, _time_at(hours, needed - (days - 1) * hours.day_length))


def _at(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=timezone.get_default_timezone())


def elapsed(start: dt.datetime, end: dt.datetime, unit: str) -> float:
    """The time from `start` to `end` in natural hours, working hours or working days (negative if `end` is
    earlier). The inverse of add(): elapsed(s, add(s, x, unit), unit) == x."""
    _check_unit(unit)
    a, b = _local(start), _local(end)
    if b < a:
        return -elapsed(end, start, unit)
    if unit == LimitUnit.NATURAL_HOURS:
        return (b - a) / dt.timedelta(hours=1)
    hours = _hours(settings.YIWANG_WORKING_HOURS)
    first, last = a.date(), b.date()
    if first == last:
        passed = _position(hours, _us_of_time(b.time())) - _position(hours, _us_of_time(a.time())) \
            if is_workday(first) else 0
    else:
        passed = hours.day_length - _position(hours, _us_of_time(a.time())) if is_workday(first) else 0
        passed += _position(hours, _us_of_time(b.time())) if is_workday(last) else 0
        passed += hours.day_length * _workdays_between(first + dt.timedelta(days=1), last - dt.timedelta(days=1))
    per_unit = _US_PER_HOUR if unit == LimitUnit.WORKING_HOURS else hours.day_length
    return passed / per_unit
