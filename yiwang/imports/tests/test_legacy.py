"""What an imported row becomes: a case finished in the source system is created closed with its times and no
deadlines; any other row waits at its community's desk with a response clock started at the import. Numbers
follow the day of the report; positions from Chinese web maps are converted."""

import datetime as dt

import numpy as np

from yiwang.cases.choices import Status
from yiwang.cases.measures import measures_for
from yiwang.cases.models import Case, CaseDeadline, CaseNumberCounter
from yiwang.cases.services import case_accept, case_report
from yiwang.core import clock
from yiwang.core.models import AuditEntry
from yiwang.imports.tests.conftest import IN_A, NOW, TZ, csv_bytes, hotline_row


def test_a_case_finished_in_the_source_system_is_imported_closed(crew, run_import):
    run_import(crew.acceptor, csv_bytes([
        hotline_row("L-1", when="2026-10-08 09:30", status="已办结", closed="2026-10-09 16:00"),
    ]))
    case = Case.objects.get()
    assert case.status == Status.CLOSED
    assert case.reported_at == dt.datetime(2026, 10, 8, 9, 30, tzinfo=TZ)
    assert case.closed_at == case.handled_at == dt.datetime(2026, 10, 9, 16, 0, tzinfo=TZ)
    assert (case.respond_due_at, case.handle_due_at, case.close_due_at, case.due_at) == (None, None, None, None)
    assert not CaseDeadline.objects.exists()
    assert case.level == crew.world.community_a and case.grid == crew.world.grid_a
    entry = AuditEntry.objects.get(action="case.import")
    assert entry.after["status"] == "closed" and entry.after["legacy_status"] == "已办结"
    assert entry.after["closed_at"] == "2026-10-09T16:00:00+08:00"


def test_an_open_case_waits_to_be_accepted_with_a_clock_from_the_import(crew, run_import):
    run_import(crew.acceptor, csv_bytes([hotline_row("L-2", when="2026-10-08 09:30", status="办理中",
                                                     urgency="紧急")]))
    case = Case.objects.get()
    assert case.status == Status.REPORTED and case.urgency == "orange"
    assert case.level == crew.world.community_a and case.region == crew.world.community_a
    assert case.category.code == "E0102" and case.reporter is None and case.reporter_name == "张三"
    # Reported weeks ago in the source system, but the platform hears of it now: its response time starts now
    # (orange: half an hour), not in the past where it would be overdue the moment it arrives.
    assert case.respond_due_at == case.due_at == NOW + dt.timedelta(minutes=30)
    clock_row = CaseDeadline.objects.get(case=case)
    assert (clock_row.step, clock_row.started_at, clock_row.due_at) == ("respond", NOW, case.due_at)
    assert clock_row.warn_at == NOW + dt.timedelta(minutes=24)
    # And it moves on through the loop like any report.
    with clock.frozen(NOW):
        accepted = case_accept(actor=crew.acceptor, case=case)
    assert accepted.status == Status.ACCEPTED
    assert CaseDeadline.objects.get(case=case).met is True


def test_numbers_follow_the_day_of_the_report_and_continue_the_days_counter(crew, run_import):
    with clock.frozen(dt.datetime(2026, 11, 20, 8, 0, tzinfo=TZ)):
        live = case_report(actor=crew.acceptor, description="电话", channel="hotline", lat=float(IN_A[1]),
                           lon=float(IN_A[0]))
    assert live.number == "YW20261120-000001"
    run_import(crew.acceptor, csv_bytes([
        hotline_row("N-1", when="2026-11-20 10:00"), hotline_row("N-2", when="2026-11-19 23:59:59"),
        hotline_row("N-3", when="2026-11-20 11:00"), hotline_row("N-4", when="2026-11-19T16:30:00Z"),
    ]), batch_size=3)
    numbers = dict(Case.objects.filter(external_ref__startswith="N-").values_list("external_ref", "number"))
    assert numbers == {"N-1": "YW20261120-000002", "N-2": "YW20261119-000001", "N-3": "YW20261120-000003",
                       "N-4": "YW20261120-000004"}  # 16:30 UTC is the 20th, 00:30 in Beijing
    assert CaseNumberCounter.objects.get(day=dt.date(2026, 11, 20)).last == 4
    with clock.frozen(dt.datetime(2026, 11, 20, 12, 0, tzinfo=TZ)):
        after = case_report(actor=crew.acceptor, description="电话", channel="hotline", lat=float(IN_A[1]),
                            lon=float(IN_A[0]))
    assert after.number == "YW20261120-000005"


def test_closed_legacy_cases_count_as_reported_but_in_no_deadline_measure(crew, run_import):
    run_import(crew.acceptor, csv_bytes([
        hotline_row("M-1", when="2026-10-08 09:30", status="已办结", closed="2026-10-09 16:00"),
        hotline_row("M-2", when="2026-10-10 09:30", status="办结", closed="2026-10-20 16:00"),
    ]))
    with clock.frozen(NOW):
        measures = measures_for(actor=crew.admin, region=crew.world.district_a,
                                period_start=dt.datetime(2026, 10, 1, tzinfo=TZ),
                                period_end=dt.datetime(2026, 11, 1, tzinfo=TZ))
    counts = measures.counts
    assert counts["reported"] == 2
    assert counts["due_close"] == counts["due_handle"] == counts["due_respond"] == 0
    assert measures.rates["closed_rate"] is None  # nothing the platform had to close in time


def test_positions_from_gaode_or_baidu_maps_are_converted_to_wgs84(crew, run_import):
    from yiwang.imports.crs import bd09_to_gcj02, gcj02_to_wgs84, wgs84_to_gcj02

    lon, lat = np.array([120.005]), np.array([40.005])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert 0.004 < glon[0] - 120.005 < 0.01  # the published shift moves it into grid A2 …
    run_import(crew.acceptor, csv_bytes([hotline_row("G-1", where=(f"{glon[0]:.7f}", f"{glat[0]:.7f}"))]),
               crs="gcj02")
    case = Case.objects.get()
    assert case.grid == crew.world.grid_a  # … and back into A1
    assert abs(case.lon - 120.005) < 1e-6 and abs(case.lat - 40.005) < 1e-6
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert abs(back_lon[0] - 120.005) < 1e-8 and abs(back_lat[0] - 40.005) < 1e-8
    # BD-09 is GCJ-02 shifted once more; outside China nothing moves.
    assert bd09_to_gcj02(np.array([0.0065]), np.array([0.006]))[0][0] == 0
    assert wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))[0][0] == 2.35
