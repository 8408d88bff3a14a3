"""The working calendar: which days are worked, and deadlines counted in natural hours, working hours and working
days — checked against the holiday library's own data and against a minute-by-minute count."""

import datetime as dt
import decimal
import itertools
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from yiwang.workcal import calendar
from yiwang.workcal.calendar import add, elapsed, is_workday, year_is_known
from yiwang.workcal.choices import LimitUnit

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NATURAL, HOURS, DAYS = LimitUnit.NATURAL_HOURS, LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS
LIBRARY_KNOWS_2026 = calendar._library_knows(2026)
FAR_YEAR = 2099  # a year the library will not know for a long time


def at(y, mo, d, h=0, mi=0, s=0):
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SH)


def days(first, last):
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# --------------------------------------------------------------------------- working days


def test_national_day_2025_against_the_library():
    holidays = days(dt.date(2025, 10, 1), dt.date(2025, 10, 8))
    assert all(chinese_calendar.is_holiday(day) for day in holidays)  # the library's own data
    assert not any(is_workday(day) for day in holidays)
    # The make-up working days (调休): a Sunday before and a Saturday after.
    for day in (dt.date(2025, 9, 28), dt.date(2025, 10, 11)):
        assert day.weekday() >= 5 and chinese_calendar.is_workday(day)
        assert is_workday(day)
    assert is_workday(dt.date(2025, 9, 30)) and is_workday(dt.date(2025, 10, 9))
    assert not is_workday(dt.date(2025, 10, 12))  # an ordinary Sunday


@pytest.mark.skipif(not LIBRARY_KNOWS_2026, reason="the installed chinesecalendar does not know 2026")
def test_national_day_2026_against_the_library():
    for day in days(dt.date(2026, 10, 1), dt.date(2026, 10, 7)):
        assert not is_workday(day) and chinese_calendar.is_holiday(day)
    assert is_workday(dt.date(2026, 10, 8))
    assert dt.date(2026, 10, 10).weekday() == 5 and is_workday(dt.date(2026, 10, 10))  # make-up Saturday


def test_every_day_of_the_known_years_agrees_with_the_library():
    for year in (2024, 2025, 2026) if LIBRARY_KNOWS_2026 else (2024, 2025):
        for day in days(dt.date(year, 1, 1), dt.date(year, 12, 31)):
            assert is_workday(day) is chinese_calendar.is_workday(day), day
        assert year_is_known(year)


def test_a_year_the_library_does_not_know_falls_back_to_monday_to_friday():
    assert not calendar._library_knows(FAR_YEAR)
    assert not year_is_known(FAR_YEAR)
    for day in days(dt.date(FAR_YEAR, 9, 1), dt.date(FAR_YEAR, 10, 31)):
        assert is_workday(day) is (day.weekday() < 5)


def test_a_datetime_counts_by_its_local_date():
    # 2025-09-30 17:00 UTC is already 1 October in Shanghai.
    assert not is_workday(dt.datetime(2025, 9, 30, 17, 0, tzinfo=dt.UTC))
    assert is_workday(dt.datetime(2025, 9, 30, 15, 59, tzinfo=dt.UTC))


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("year", [2025, 2026] if LIBRARY_KNOWS_2026 else [2025])
def test_filed_the_afternoon_before_national_day_with_one_working_day_is_due_the_first_working_day_after(year):
    last_before = max(d for d in days(dt.date(year, 9, 20), dt.date(year, 9, 30)) if is_workday(d))
    first_after = min(d for d in days(dt.date(year, 10, 1), dt.date(year, 10, 15)) if is_workday(d))
    assert not any(is_workday(d) for d in days(last_before + dt.timedelta(days=1), first_after - dt.timedelta(days=1)))
    filed = dt.datetime.combine(last_before, dt.time(15, 0), tzinfo=SH)
    due = add(filed, 1, DAYS)
    assert due.date() == first_after
    assert due.time() == dt.time(15, 0)  # the same working time of day
    assert elapsed(filed, due, DAYS) == 1


# --------------------------------------------------------------------------- working hours

# An ordinary week: Monday 17 … Friday 21 November 2025.


@pytest.mark.parametrize(("start", "amount", "due"), [
    (at(2025, 11, 17, 9, 0), 1, at(2025, 11, 17, 10, 0)),
    (at(2025, 11, 17, 11, 0), 1, at(2025, 11, 17, 12, 0)),  # ends at the lunch break, not after it
    (at(2025, 11, 17, 11, 0), 2, at(2025, 11, 17, 14, 30)),  # across the lunch break
    (at(2025, 11, 17, 12, 30), 1, at(2025, 11, 17, 14, 30)),  # filed during lunch: counts from 13:30
    (at(2025, 11, 17, 7, 0), 1, at(2025, 11, 17, 9, 30)),  # before work
    (at(2025, 11, 17, 18, 0), 1, at(2025, 11, 18, 9, 30)),  # in the evening
    (at(2025, 11, 17, 17, 30), 4, at(2025, 11, 18, 14, 0)),  # from the end of the day
    (at(2025, 11, 21, 17, 0), 1, at(2025, 11, 24, 9, 0)),  # Friday afternoon into Monday
    (at(2025, 11, 22, 10, 0), 1, at(2025, 11, 24, 9, 30)),  # on a Saturday
    (at(2025, 11, 17, 9, 0), 15, at(2025, 11, 19, 9, 0)),  # two whole working days
    (at(2025, 9, 30, 17, 0), 1, at(2025, 10, 9, 9, 0)),  # across National Day 2025
    (at(2025, 10, 10, 17, 0), 1, at(2025, 10, 11, 9, 0)),  # into the make-up Saturday
    (at(2025, 9, 27, 10, 0), 1, at(2025, 9, 28, 9, 30)),  # a Saturday before the make-up Sunday
    (at(2025, 12, 31, 17, 0), 1, at(2026, 1, 4, 9, 0) if LIBRARY_KNOWS_2026 else None),  # New Year, make-up Sunday
])
def test_working_hours(start, amount, due):
    if due is None:
        pytest.skip("the installed chinesecalendar does not know 2026")
    assert add(start, amount, HOURS) == due
    assert elapsed(start, due, HOURS) == pytest.approx(amount, abs=1e-12)


@pytest.mark.parametrize(("start", "amount", "due"), [
    (at(2025, 11, 17, 11, 50), decimal.Decimal(1) / 6, at(2025, 11, 17, 12, 0)),
    (at(2025, 11, 17, 11, 50), 0.25, at(2025, 11, 17, 13, 35)),
    (at(2025, 11, 17, 11, 50), 0.5, at(2025, 11, 17, 13, 50)),
    (at(2025, 11, 17, 9, 0), decimal.Decimal("0.1"), at(2025, 11, 17, 9, 6)),
    (at(2025, 11, 17, 9, 0), 1 / 3, at(2025, 11, 17, 9, 20)),
])
def test_fractional_working_hours(start, amount, due):
    assert add(start, amount, HOURS) == due


@pytest.mark.parametrize(("start", "amount", "due"), [
    (at(2025, 11, 17, 10, 0), 1, at(2025, 11, 18, 10, 0)),  # the same working time the next working day
    (at(2025, 11, 21, 20, 0), 1, at(2025, 11, 24, 17, 30)),  # Friday 20:00: the end of the next working day
    (at(2025, 11, 17, 8, 30), 5, at(2025, 11, 21, 17, 30)),
    (at(2025, 11, 17, 8, 30), decimal.Decimal("1.5"), at(2025, 11, 18, 13, 45)),  # 7.5 h + 3.75 h
    (at(2025, 11, 17, 10, 0), 0.5, at(2025, 11, 17, 15, 15)),
    (at(2025, 9, 29, 10, 0), 3, at(2025, 10, 10, 10, 0)),  # Mon 29 Sep + 3: 30 Sep, 9 Oct, 10 Oct
])
def test_working_days(start, amount, due):
    assert add(start, amount, DAYS) == due
    assert elapsed(start, due, DAYS) == pytest.approx(float(amount), abs=1e-12)


def test_natural_hours_ignore_the_calendar():
    start = at(2025, 9, 30, 15, 0)
    assert add(start, 24, NATURAL) == at(2025, 10, 1, 15, 0)
    assert add(start, 1.5, NATURAL) == at(2025, 9, 30, 16, 30)
    assert elapsed(start, at(2025, 10, 8, 15, 0), NATURAL) == 192


def test_results_are_aware_and_in_the_configured_time_zone():
    start = dt.datetime(2025, 11, 17, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    for unit in LimitUnit.values:
        due = add(start, 1, unit)
        assert due.tzinfo is not None and due.utcoffset() == dt.timedelta(hours=8)
    assert add(start, 1, HOURS) == at(2025, 11, 17, 10, 0)


def test_zero_is_the_start_itself():
    start = at(2025, 11, 22, 3, 0)
    assert add(start, 0, HOURS) == start == add(start, 0, DAYS) == add(start, 0, NATURAL)


@pytest.mark.parametrize(("start", "amount", "unit"), [
    (at(2025, 11, 17), -1, HOURS),
    (at(2025, 11, 17), float("nan"), HOURS),
    (at(2025, 11, 17), "1", HOURS),
    (at(2025, 11, 17), 1, "fortnights"),
    (dt.datetime(2025, 11, 17, 9, 0), 1, HOURS),  # naive
])
def test_bad_arguments_are_refused(start, amount, unit):
    with pytest.raises(ValueError):
        add(start, amount, unit)


def test_elapsed_is_negative_backwards_and_zero_outside_working_time():
    assert elapsed(at(2025, 11, 18, 10, 0), at(2025, 11, 17, 10, 0), HOURS) == -7.5
    assert elapsed(at(2025, 9, 30, 17, 30), at(2025, 10, 9, 8, 30), HOURS) == 0  # the whole holiday
    assert elapsed(at(2025, 11, 17, 12, 0), at(2025, 11, 17, 13, 30), HOURS) == 0  # lunch


def _minute_by_minute(first: dt.date, last: dt.date):
    """An independent, slow count: working minutes from `first` 00:00 up to each minute until `last` ends."""
    periods = calendar.working_periods()
    passed, counts = 0, {}
    for day in days(first, last):
        worked = is_workday(day)
        for minute in range(24 * 60):
            now = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=SH)
            counts[now] = passed
            if worked and any(s <= now.time() < e for s, e in periods):
                passed += 1
    return counts


def test_elapsed_agrees_with_a_minute_by_minute_count():
    counts = _minute_by_minute(dt.date(2025, 9, 26), dt.date(2025, 10, 13))
    instants = sorted(counts)[::97]  # every 97 minutes: all times of day, all kinds of day
    for a, b in itertools.combinations(instants[::3], 2):
        assert elapsed(a, b, HOURS) * 60 == pytest.approx(counts[b] - counts[a], abs=1e-9), (a, b)


def test_elapsed_inverts_add_from_many_starts():
    starts = [at(2025, 9, 20) + dt.timedelta(minutes=37 * n) for n in range(0, 1500, 7)]
    amounts = {HOURS: [0.1, 1, 2.5, 3.5, 7.5, 8, 16.25, 40], DAYS: [0.5, 1, 3, 5.25, 12],
               NATURAL: [0.75, 5, 100]}
    for start in starts:
        for unit, values in amounts.items():
            for amount in values:
                due = add(start, amount, unit)
                assert due > start
                assert elapsed(start, due, unit) == pytest.approx(amount, rel=1e-12, abs=1e-9), (start, amount, unit)
                # and the due time is the earliest one: a minute earlier, the time has not all passed
                assert elapsed(start, due - dt.timedelta(minutes=1), unit) < amount


def test_long_limits_and_spans_across_years():
    start = at(2024, 12, 20, 9, 0)
    due = add(start, 300, DAYS)
    assert elapsed(start, due, DAYS) == pytest.approx(300)
    workdays = sum(is_workday(d) for d in days(dt.date(2024, 12, 21), due.date()))
    assert workdays == 300 and due.time() == dt.time(9, 0)


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("raw", ["", "nonsense", "08:30-12:00,11:00-17:30", "12:00-08:30", "08:30-08:30",
                                 "25:00-26:00", "13:30-17:30,08:30-12:00", "08:30-12:00;13:30-17:30"])
def test_bad_working_hours_are_refused(raw):
    with pytest.raises(ImproperlyConfigured):
        calendar.parse_working_hours(raw)


def test_working_hours_are_configuration(settings):
    assert calendar.working_periods() == [(dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 30))]
    settings.YIWANG_WORKING_HOURS = " 09:00-17:00 "
    assert add(at(2025, 11, 17, 16, 0), 2, HOURS) == at(2025, 11, 18, 10, 0)
    assert add(at(2025, 11, 17, 10, 0), 1, DAYS) == at(2025, 11, 18, 10, 0)
    # From the start of the day, a working day is up at its end (the same working time as 09:00 the next day).
    assert add(at(2025, 11, 17, 9, 0), 1, DAYS) == at(2025, 11, 17, 17, 0)
    settings.YIWANG_WORKING_HOURS = "08:00-12:00,12:00-13:00"  # touching periods do not overlap
    assert add(at(2025, 11, 17, 11, 0), 1.5, HOURS) == at(2025, 11, 17, 12, 30)
    settings.YIWANG_WORKING_HOURS = "17:30-08:30"
    with pytest.raises(ImproperlyConfigured):  # at first use
        add(at(2025, 11, 17, 9, 0), 1, HOURS)
    assert add(at(2025, 11, 17, 9, 0), 1, NATURAL) == at(2025, 11, 17, 10, 0)


def test_choice_labels():
    with translation.override("en"):
        assert [str(label) for label in LimitUnit.labels] == ["natural hours", "working hours", "working days"]
