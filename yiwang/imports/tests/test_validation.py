"""Every row is checked; a bad row goes to the error report (downloaded through the API, as an importer would)
with a clear code, and the run goes on with the next one."""

import csv
import io

import pytest

from yiwang.cases.models import Case
from yiwang.core import clock
from yiwang.imports.choices import RunStatus
from yiwang.imports.tests.conftest import (
    HEADER,
    IN_A,
    IN_B,
    NOW,
    NOWHERE,
    csv_bytes,
    error_report,
    hotline_row,
    upload,
)

# (row as written, the errors expected for it as (column, code)); row numbers follow from the order (header = 1).
CASES = [
    (hotline_row("OK-1"), []),
    (hotline_row(""), [("工单编号", "missing_number")]),
    (hotline_row("E-2", text=""), [("诉求内容", "missing_description")]),
    (hotline_row("E-3", when=""), [("来电时间", "missing_date")]),
    (hotline_row("E-4", when="2026-13-45 25:61"), [("来电时间", "bad_date")]),
    (hotline_row("E-5", when="上周三下午"), [("来电时间", "bad_date")]),
    (hotline_row("E-6", when="2027-01-01 08:00"), [("来电时间", "bad_date")]),
    (hotline_row("E-7", status="已办结", closed="2026-11-19 08:00"), [("办结时间", "bad_date")]),
    (hotline_row("E-8", status="已办结", closed=""), [("办结时间", "close_time_required")]),
    (hotline_row("E-9", where=("东经120度", "北纬40度")), [("经度", "bad_coordinates")]),
    (hotline_row("E-10", where=("120.005", "")), [("纬度", "bad_coordinates")]),
    (hotline_row("E-11", where=("220.0", "40.0")), [("经度", "bad_coordinates")]),
    (hotline_row("E-12", where=NOWHERE), [("经度", "outside_area")]),
    (hotline_row("E-13", where=("", "")), [("", "no_location")]),
    (hotline_row("E-14", category="Z9999"), [("分类代码", "unknown_category")]),
    (hotline_row("E-15", category="E01"), [("分类代码", "category_invalid")]),
    (hotline_row("E-16", urgency="十万火急"), [("紧急程度", "bad_urgency")]),
    (hotline_row("E-17", phone="1" * 40), [("联系电话", "too_long")]),
    (hotline_row("OK-1"), [("工单编号", "duplicate_in_file")]),
    (hotline_row("E-19", where=IN_B), [("经度", "out_of_scope")]),
    (hotline_row("E-20", text="", when="昨天", urgency="?"),
     [("诉求内容", "missing_description"), ("来电时间", "bad_date"), ("紧急程度", "bad_urgency")]),
    (hotline_row("OK-2", where=("0", "0"), category=""), [("", "no_location")]),  # 0,0 means "no position"
]


@pytest.fixture
def imported(crew, api, tasks_inline):
    """The file uploaded through the API by district A's acceptor, run by the task queue."""
    client = api(crew.acceptor)
    with clock.frozen(NOW), tasks_inline():
        response = upload(client, csv_bytes([row for row, _errors in CASES]))
    assert response.status_code == 202, response.json()
    run = response.json()
    with clock.frozen(NOW):
        run = client.get(f"/api/v1/imports/{run['id']}/").json()
    return client, run


def test_each_problem_is_reported_with_its_row_number_column_and_code(imported):
    client, run = imported
    assert run["status"] == RunStatus.FINISHED
    expected = []
    for index, (row, errors) in enumerate(CASES, start=2):
        expected += [(str(index), row[0], column, code) for column, code in errors]
    report = error_report(client, run["id"])
    assert [(line["row"], line["original number"], line["column"], line["code"]) for line in report] == expected
    assert all(line["message"] for line in report)


def test_bad_rows_do_not_stop_the_run(imported):
    _client, run = imported
    assert (run["rows_total"], run["rows_done"], run["rows_ok"], run["rows_failed"]) == (len(CASES), len(CASES), 1, 21)
    assert list(Case.objects.values_list("external_ref", flat=True)) == ["OK-1"]


def test_messages_say_what_is_wrong_in_the_readers_language(imported):
    client, run = imported
    by_code = {}
    for line in error_report(client, run["id"], language="en"):
        by_code.setdefault(line["code"], line["message"])
    assert by_code["missing_description"] == "The description of the problem is missing."
    assert by_code["duplicate_in_file"] == "The number OK-1 is already on row 2 of this file."
    assert by_code["bad_date"] == "2026-13-45 25:61 is not a date and time (such as 2024-03-05 14:23)."
    assert by_code["outside_area"].startswith("The position 121.5, 41.5 is outside every grid")
    assert by_code["out_of_scope"] == "This place is outside the area you may import cases for."


def test_a_formula_in_a_cell_is_not_a_formula_in_the_report(crew, api, run_import):
    run = run_import(crew.acceptor, csv_bytes([hotline_row("=HYPERLINK(\"http://x\")", text="")]))
    [line] = error_report(api(crew.acceptor), run.pk)
    assert line["original number"].startswith("'=")


def test_a_region_instead_of_a_position(crew, run_import):
    header = [*HEADER, "区划代码"]
    rows = [
        [*hotline_row("R-1", where=("", "")), crew.world.community_a.code],
        [*hotline_row("R-2", where=("", "")), "甲二社区"],  # by its name, when the name is unique
        [*hotline_row("R-3", where=NOWHERE), crew.world.community_a2.code],  # outside every grid: the region
        [*hotline_row("R-4", where=("", "")), "999999999999"],
        [*hotline_row("R-5", where=IN_A), crew.world.community_b.code],  # the position wins over the region
    ]
    run = run_import(crew.acceptor, csv_bytes(rows, header=header))
    assert run.rows_ok == 4 and run.rows_failed == 1
    cases = {c.external_ref: c for c in Case.objects.all()}
    assert cases["R-1"].grid is None and cases["R-1"].region == crew.world.community_a
    assert cases["R-1"].level == crew.world.community_a
    assert cases["R-2"].region == crew.world.community_a2 and cases["R-3"].region == crew.world.community_a2
    assert cases["R-5"].grid == crew.world.grid_a


def test_an_ambiguous_region_name_asks_for_the_code(crew, run_import, api):
    from yiwang.geo import services as geo

    geo.region_create(actor=None, code="219901001009", name="甲社区", level="community", parent=crew.world.street_a)
    header = [*HEADER, "区划代码"]
    run = run_import(crew.acceptor, csv_bytes([[*hotline_row("R-1", where=("", "")), "甲社区"]], header=header))
    [line] = error_report(api(crew.acceptor), run.pk)
    assert line["code"] == "ambiguous_region" and line["column"] == "区划代码"


def test_channel_per_row(crew, run_import, api):
    header = [*HEADER, "来源渠道"]
    rows = [[*hotline_row("C-1"), "12345"], [*hotline_row("C-2"), "部门"], [*hotline_row("C-3"), ""],
            [*hotline_row("C-4"), "飞鸽传书"]]
    run = run_import(crew.acceptor, csv_bytes(rows, header=header), channel="department")
    assert dict(Case.objects.values_list("external_ref", "channel")) == {
        "C-1": "hotline", "C-2": "department", "C-3": "department"}
    [line] = error_report(api(crew.acceptor), run.pk)
    assert (line["original number"], line["code"]) == ("C-4", "bad_channel")


@pytest.mark.parametrize("written, expected", [
    ("2026-11-20 10:15:00", "2026-11-20 10:15:00"),
    ("2026/11/20 10:15", "2026-11-20 10:15:00"),
    ("2026/1/2 9:05", "2026-01-02 09:05:00"),
    ("2026年11月20日 10时15分", "2026-11-20 10:15:00"),
    ("2026年11月20日 10:15:30", "2026-11-20 10:15:30"),
    ("20261120101500", "2026-11-20 10:15:00"),
    ("2026-11-20T02:15:00Z", "2026-11-20 10:15:00"),
    ("2026-11-20", "2026-11-20 00:00:00"),
])
def test_the_ways_exports_write_times(written, expected):
    from yiwang.imports.checks import parse_when
    from yiwang.imports.tests.conftest import TZ

    assert parse_when(written, TZ).astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") == expected


def test_the_report_of_a_clean_file_is_just_its_header(crew, run_import, api):
    run = run_import(crew.acceptor, csv_bytes([hotline_row("OK-1")]))
    assert error_report(api(crew.acceptor), run.pk) == []
    response = api(crew.acceptor).get(f"/api/v1/imports/{run.pk}/errors.csv", HTTP_ACCEPT_LANGUAGE="en")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text))) == ["row", "original number", "column", "code", "message"]

