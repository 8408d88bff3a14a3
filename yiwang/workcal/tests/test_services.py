"""Entering holidays by hand: the services journal and refuse, the calendar in every process follows them, the
CSV import is all or nothing, the admin saves through the services, and the system check asks for a missing
year."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import checks
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from yiwang.core.errors import NotFound, PermissionRefused, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.workcal import calendar, services
from yiwang.workcal.calendar import add, is_workday, year_is_known
from yiwang.workcal.checks import check_years_known
from yiwang.workcal.choices import LimitUnit
from yiwang.workcal.models import CalendarVersion, WorkdayOverride

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
FAR_YEAR = 2099  # a year the library does not know: Monday–Friday until overridden


def first_weekday(year, month, weekday):
    day = dt.date(year, month, 1)
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


FRIDAY = first_weekday(FAR_YEAR, 10, 4)
SATURDAY = FRIDAY + dt.timedelta(days=1)


def journal(action):
    return list(AuditEntry.objects.filter(action=action, object_type="workcal.workdayoverride").order_by("id"))


@pytest.fixture
def admin_user(world, person):
    return person("admin", region=world.city)


# --------------------------------------------------------------------------- overrides and the calendar


def test_overrides_decide_an_unknown_year(admin_user):
    assert is_workday(FRIDAY) and not is_workday(SATURDAY) and not year_is_known(FAR_YEAR)
    services.workday_override_save(actor=admin_user, date=FRIDAY, is_workday=False, name="国庆节")
    services.workday_override_save(actor=admin_user, date=SATURDAY, is_workday=True, name="国庆调休")
    assert not is_workday(FRIDAY) and is_workday(SATURDAY) and year_is_known(FAR_YEAR)
    # A deadline counts the make-up Saturday and skips the holiday Friday.
    thursday = dt.datetime.combine(FRIDAY - dt.timedelta(days=1), dt.time(17, 0), tzinfo=SH)
    assert add(thursday, 1, LimitUnit.WORKING_HOURS) == dt.datetime.combine(SATURDAY, dt.time(9, 0), tzinfo=SH)


def test_an_override_beats_the_library(admin_user):
    national_day = dt.date(2025, 10, 1)
    assert not is_workday(national_day)
    services.workday_override_save(actor=None, date=national_day, is_workday=True, note="测试")
    assert is_workday(national_day)
    services.workday_override_delete(actor=admin_user, override=WorkdayOverride.objects.get(date=national_day))
    assert not is_workday(national_day)


def test_save_creates_then_updates_and_journals_each_change(admin_user):
    override = services.workday_override_save(actor=admin_user, date=FRIDAY, is_workday=False, name=" 国庆节 ")
    assert (override.date, override.is_workday, override.name) == (FRIDAY, False, "国庆节")
    [created] = journal("workday_override.create")
    assert created.actor == admin_user and created.object_id == str(override.pk)
    assert created.after["date"] == FRIDAY.isoformat() and created.after["is_workday"] is False

    services.workday_override_save(actor=admin_user, date=FRIDAY, is_workday=False, name="国庆节")
    assert journal("workday_override.update") == []  # nothing changed, nothing written

    services.workday_override_save(actor=admin_user, date=FRIDAY, is_workday=True, name="国庆调休", note="改")
    [updated] = journal("workday_override.update")
    assert updated.before == {"is_workday": False, "name": "国庆节", "note": ""}
    assert updated.after == {"is_workday": True, "name": "国庆调休", "note": "改"}
    assert WorkdayOverride.objects.count() == 1

    services.workday_override_delete(actor=admin_user, override=override)
    [deleted] = journal("workday_override.delete")
    assert deleted.before["date"] == FRIDAY.isoformat()
    assert not WorkdayOverride.objects.exists()
    with pytest.raises(NotFound):
        services.workday_override_delete(actor=admin_user, override=override)


@pytest.mark.parametrize("who", ["no_role", "dispatcher", "resident", "anonymous", "inactive_admin"])
def test_actors_without_the_permission_are_refused_and_nothing_changes(world, person, who):
    actor = {
        "no_role": lambda: person(None),
        "dispatcher": lambda: person("dispatcher", region=world.city),
        "resident": lambda: person("resident"),
        "anonymous": AnonymousUser,
        "inactive_admin": lambda: person("admin", region=world.city),
    }[who]()
    if who == "inactive_admin":
        actor.is_active = False
        actor.save(update_fields=["is_active"])
    services.workday_override_save(actor=None, date=SATURDAY, is_workday=True, name="调休")
    before = (list(WorkdayOverride.objects.values()), AuditEntry.objects.count(), CalendarVersion.objects.get().token)
    with pytest.raises(PermissionRefused):
        services.workday_override_save(actor=actor, date=FRIDAY, is_workday=False)
    with pytest.raises(PermissionRefused):
        services.workday_override_save(actor=actor, date=SATURDAY, is_workday=False)
    with pytest.raises(PermissionRefused):
        services.workday_override_delete(actor=actor, override=WorkdayOverride.objects.get())
    with pytest.raises(PermissionRefused):
        services.workday_year_load(actor=actor, year=FAR_YEAR, holidays=[FRIDAY], workdays=[])
    after = (list(WorkdayOverride.objects.values()), AuditEntry.objects.count(), CalendarVersion.objects.get().token)
    assert after == before
    assert is_workday(FRIDAY) and is_workday(SATURDAY)


def test_an_admin_of_any_region_keeps_the_one_calendar(world, person):
    # The calendar has no place in the region tree: the permission held anywhere is enough.
    district_admin = person("admin", region=world.district_b)
    services.workday_override_save(actor=district_admin, date=FRIDAY, is_workday=False)
    assert not is_workday(FRIDAY)


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"date": "2099-10-01", "is_workday": False}, "required"),
    ({"date": dt.datetime(2099, 10, 1, tzinfo=SH), "is_workday": False}, "required"),
    ({"date": FRIDAY, "is_workday": None}, "required"),
    ({"date": FRIDAY, "is_workday": False, "name": "节" * 51}, "too_long"),
])
def test_invalid_input_is_refused(admin_user, kwargs, code):
    with pytest.raises(ValidationFailed) as refused:
        services.workday_override_save(actor=admin_user, **kwargs)
    assert refused.value.code == code
    assert not WorkdayOverride.objects.exists()


def test_year_load_enters_a_holiday_at_once_and_again_changes_nothing(admin_user):
    holidays = [FRIDAY + dt.timedelta(days=n) for n in range(7)]
    workdays = [FRIDAY - dt.timedelta(days=5), FRIDAY + dt.timedelta(days=8)]
    report = services.workday_year_load(actor=admin_user, year=FAR_YEAR, holidays=holidays, workdays=workdays,
                                        name="国庆节")
    assert (report.created, report.updated, report.unchanged) == (9, 0, 0)
    assert len(journal("workday_override.create")) == 9
    assert [is_workday(d) for d in holidays] == [False] * 7 and all(is_workday(d) for d in workdays)
    assert set(WorkdayOverride.objects.values_list("name", flat=True)) == {"国庆节"}

    report = services.workday_year_load(actor=admin_user, year=FAR_YEAR, holidays=holidays, workdays=workdays,
                                        name="国庆节")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 9)
    assert AuditEntry.objects.filter(object_type="workcal.workdayoverride").count() == 9


@pytest.mark.parametrize(("holidays", "workdays", "code"), [
    ([FRIDAY, dt.date(FAR_YEAR + 1, 1, 1)], [], "wrong_year"),
    ([FRIDAY], [FRIDAY], "contradiction"),
])
def test_year_load_is_all_or_nothing(admin_user, holidays, workdays, code):
    with pytest.raises(ValidationFailed) as refused:
        services.workday_year_load(actor=admin_user, year=FAR_YEAR, holidays=holidays, workdays=workdays)
    assert refused.value.code == code
    assert not WorkdayOverride.objects.exists()


# --------------------------------------------------------------------------- the cache


def test_steady_state_calls_do_not_touch_the_database(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(calendar, "RECHECK_SECONDS", 3600)
    start = dt.datetime(2025, 9, 30, 15, 0, tzinfo=SH)
    add(start, 10, LimitUnit.WORKING_DAYS)  # loads 2025
    with django_assert_num_queries(0):
        for n in range(200):
            is_workday(dt.date(2025, 1, 1) + dt.timedelta(days=n))
            add(start + dt.timedelta(hours=n), 3, LimitUnit.WORKING_DAYS)


def test_the_process_that_saves_sees_its_change_at_once(admin_user, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(calendar, "RECHECK_SECONDS", 3600)
    assert is_workday(FRIDAY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.workday_override_save(actor=admin_user, date=FRIDAY, is_workday=False)
    assert callbacks  # the tables are dropped again after commit
    assert not is_workday(FRIDAY)


def test_another_process_sees_a_change_at_its_next_check(monkeypatch):
    monkeypatch.setattr(calendar, "RECHECK_SECONDS", 3600)
    assert is_workday(FRIDAY)
    # Another process commits a change: a row and a new token, without telling this process.
    WorkdayOverride.objects.create(date=FRIDAY, is_workday=False)
    CalendarVersion.objects.update_or_create(pk=1, defaults={"token": "from-another-process"})
    assert is_workday(FRIDAY)  # still this process's table: no query until the next check
    monkeypatch.setattr(calendar, "RECHECK_SECONDS", 0)
    assert not is_workday(FRIDAY)


def test_a_rolled_back_change_does_not_stay_in_the_cache(admin_user, monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(calendar, "RECHECK_SECONDS", 0)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.workday_override_save(actor=admin_user, date=FRIDAY, is_workday=False)
        assert not is_workday(FRIDAY)  # read inside the transaction, from its uncommitted row
        raise RuntimeError
    assert is_workday(FRIDAY)


# --------------------------------------------------------------------------- import


def write_csv(tmp_path, text):
    path = tmp_path / "days.csv"
    path.write_text(text, encoding="utf-8-sig")
    return str(path)


def test_import_a_csv(tmp_path, capsys):
    path = write_csv(tmp_path, f"date,is_workday,name\n{FRIDAY},0,国庆节\n{SATURDAY},是,国庆调休\n\n")
    call_command("workdays_import", path)
    assert not is_workday(FRIDAY) and is_workday(SATURDAY)
    assert WorkdayOverride.objects.get(date=SATURDAY).name == "国庆调休"
    assert [e.actor_name for e in journal("workday_override.create")] == ["system", "system"]


@pytest.mark.parametrize("text", [
    f"date,is_workday,name\n{FRIDAY},0,国庆节\n{FAR_YEAR}-13-01,0,x\n",  # not a date
    f"date,is_workday,name\n{FRIDAY},0,国庆节\n{SATURDAY},maybe,x\n",  # not a flag
    f"date,is_workday,name\n{FRIDAY},0,国庆节\n{FRIDAY},1,x\n",  # twice
    f"date,is_workday,name\n{FRIDAY},0,国庆节\n{SATURDAY},1,{'节' * 51}\n",  # refused by the service
    f"day,flag\n{FRIDAY},0\n",  # no header
])
def test_import_is_all_or_nothing(tmp_path, text):
    with translation.override("en"), pytest.raises(CommandError, match="nothing was imported|first line"):
        call_command("workdays_import", write_csv(tmp_path, text))
    assert not WorkdayOverride.objects.exists()
    assert not journal("workday_override.create")


def test_import_as_a_user_without_the_permission_is_refused(tmp_path, person):
    person(None, username="clerk")
    with pytest.raises(CommandError, match="permission_denied"):
        call_command("workdays_import", write_csv(tmp_path, f"date,is_workday,name\n{FRIDAY},0,x\n"),
                     as_user="clerk")
    assert not WorkdayOverride.objects.exists()


# --------------------------------------------------------------------------- admin


def test_the_admin_saves_and_deletes_through_the_services(admin_user):
    client = Client()
    client.force_login(admin_user)
    response = client.post("/admin/workcal/workdayoverride/add/", {
        "date": FRIDAY.isoformat(), "name": "国庆节", "note": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    override = WorkdayOverride.objects.get(date=FRIDAY)
    assert not override.is_workday and not is_workday(FRIDAY)
    response = client.post(f"/admin/workcal/workdayoverride/{override.pk}/change/", {
        "is_workday": "on", "name": "国庆节", "note": "改为上班"})
    assert response.status_code == 302
    assert is_workday(FRIDAY)
    assert [e.actor for e in journal("workday_override.update")] == [admin_user]

    listing = client.get(f"/admin/workcal/workdayoverride/?year={FAR_YEAR}")
    assert listing.status_code == 200 and "国庆节" in listing.content.decode()
    response = client.post(f"/admin/workcal/workdayoverride/{override.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not WorkdayOverride.objects.exists() and journal("workday_override.delete")


def test_the_admin_is_closed_to_people_without_the_permission(world, person):
    client = Client()
    client.force_login(person("dispatcher", region=world.city))
    assert client.get("/admin/workcal/workdayoverride/").status_code == 403
    response = client.post("/admin/workcal/workdayoverride/add/", {"date": FRIDAY.isoformat(), "name": "x"})
    assert response.status_code == 403
    assert not WorkdayOverride.objects.exists()


# --------------------------------------------------------------------------- system check


def _at_year(monkeypatch, year):
    monkeypatch.setattr("yiwang.core.clock.now", lambda: dt.datetime(year, 6, 1, 12, 0, tzinfo=SH))


def test_the_check_warns_for_an_unknown_current_or_next_year(monkeypatch):
    _at_year(monkeypatch, FAR_YEAR)
    warnings = check_years_known(databases=["default"])
    assert [w.id for w in warnings] == ["workcal.W001", "workcal.W001"]
    assert str(FAR_YEAR) in warnings[0].msg and str(FAR_YEAR + 1) in warnings[1].msg
    # Registered with Django's checks (tagged "database": run by migrate and check --database).
    found = checks.run_checks(tags=["workcal"], databases=["default"])
    assert [w.id for w in found] == ["workcal.W001", "workcal.W001"]
    assert checks.run_checks(tags=["workcal"]) == []

    services.workday_override_save(actor=None, date=FRIDAY, is_workday=False, name="国庆节")
    assert [str(FAR_YEAR + 1) in w.msg for w in check_years_known(databases=["default"])] == [True]


def test_the_check_is_quiet_when_the_library_knows_both_years(monkeypatch):
    _at_year(monkeypatch, 2025)
    assert check_years_known(databases=["default"]) == []


def test_the_check_reports_bad_working_hours(settings):
    settings.YIWANG_WORKING_HOURS = "08:30-12:00,11:00-17:30"
    assert [e.id for e in checks.run_checks(tags=["workcal"])] == ["workcal.E001"]
