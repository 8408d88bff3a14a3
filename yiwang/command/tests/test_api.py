# ruff: noqa: F811  (the case loop's fixtures are imported, then asked for by name)
"""The command centre's API: the overview's and the assessment's shape, scope, errors and exports."""

import csv
import io

import pytest

from yiwang.cases.measures import COUNTS, measures_month
from yiwang.cases.tests.conftest import MONDAY, cast, report  # noqa: F401  (the case loop's fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen(settings, monkeypatch):
    from yiwang.core import clock

    later = MONDAY.replace(hour=15)
    monkeypatch.setattr(clock, "now", lambda: later)
    return later


def test_overview_of_the_leaders_district(api, cast, report, frozen):
    first = report()
    report(channel="patrol", actor=cast.grid_worker)
    response = api(cast.leader).get("/api/v1/command/overview/")  # the leader's own top region
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["region"]["code"] == cast.world.district_a.code
    assert data["children_level"] == "street"
    assert data["today"]["reported"] == 2 and data["month"]["reported"] == 2
    assert data["measures"]["reported"] == 2 and data["measures"]["patrol"] == 1
    expected = measures_month(actor=None, year=2026, month=11, region=cast.world.district_a, now=frozen)
    assert {k: data["measures"][k] for k in COUNTS} == expected.counts
    assert data["measures"]["score"] == expected.score
    assert [c["count"] for c in data["channels"] if c["channel"] in ("app", "patrol")] == [1, 1]
    assert data["trend"][-1] == {"day": "2026-11-23", "reported": 2, "closed": 0}
    assert len(data["trend"]) == 30
    assert [r["code"] for r in data["map"]] == [cast.world.street_a.code]
    assert {p["id"] for p in data["points"]} >= {first.pk}


def test_overview_of_another_district_is_not_found(api, cast, frozen):
    response = api(cast.leader).get(f"/api/v1/command/overview/?region={cast.world.district_b.code}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api(cast.leader).get("/api/v1/command/overview/?region=999").status_code == 404


def test_overview_of_a_grid(api, cast, report, frozen):
    report()
    data = api(cast.leader).get(f"/api/v1/command/overview/?region={cast.world.grid_a.code}").json()
    assert data["region"]["level"] == "grid" and data["children_level"] is None
    assert data["map"] == [] and data["rankings"]["children"] == [] and data["today"]["reported"] == 1


def test_assessment_rows_and_exports(api, cast, report, frozen):
    report()
    client = api(cast.leader)
    query = f"region={cast.world.district_a.code}&month=2026-11&level=grid"
    rows = client.get(f"/api/v1/command/assessment/?{query}").json()
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    by_code = {r["code"]: r for r in rows}
    assert by_code[cast.world.grid_a.code]["reported"] == 1
    assert set(by_code) == {cast.world.grid_a.code, cast.world.grid_a2.code}

    text = client.get(f"/api/v1/command/assessment.csv?{query}").content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:4] == ["排名", "代码", "名称", "上报数"] and "按期结案率" in table[0]
    assert len(table) == 3

    import openpyxl

    response = client.get(f"/api/v1/command/assessment.xlsx?{query}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]][:4] == ["排名", "代码", "名称", "上报数"]
    assert sheet.max_row == 3


@pytest.mark.parametrize("query, code", [("month=2026-13", "month_invalid"), ("month=26-1", "month_invalid"),
                                         ("level=planet", "level_invalid")])
def test_assessment_refuses_a_bad_request(api, cast, frozen, query, code):
    response = api(cast.leader).get(f"/api/v1/command/assessment/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
