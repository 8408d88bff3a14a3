# ruff: noqa: F811  (the consoles' fixtures are imported, then asked for by name)
"""The wall screen over HTTP: sign-in, scope (a region outside the leader's subtree is the 404 page), the
figures in the HTML equal `overview()`'s, the breadcrumbs stop at the leader's own region, the drill-down links,
the map's polygons, and the refresh's out-of-band panels."""

import json
import re

import pytest

from yiwang.cases.choices import SuperviseAction
from yiwang.command.selectors import overview
from yiwang.console.tests.conftest import LAST_WEEK, PASSWORD, cast, loop, report  # noqa: F401
from yiwang.geo.models import Region

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def figures(html: str) -> dict[str, str]:
    """The server-rendered figures, by their data-figure name (thousands separators removed)."""
    found = {}
    for name, text in re.findall(r'data-figure="([^"]+)"[^>]*>([^<]*)<', html):
        found.setdefault(name, text.strip().replace(",", ""))
    return found


@pytest.fixture
def cases(cast, loop):
    """Grid A1: a fresh report and a case filed today, and a case in progress since long ago (overdue) that the
    leader has put under supervision."""
    from yiwang.cases import services

    loop("reported")
    loop("filed")
    overdue = loop("in_progress", now=LAST_WEEK)
    services.case_supervise(actor=cast.leader, case=overdue, action=SuperviseAction.FLAG, note="请尽快处理")
    return overdue


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/command/?region=219901000000")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/command/")


def test_a_district_leader_sees_their_district_with_the_overviews_figures(client, cast, cases):
    response = signed_in(client, cast.leader).get("/command/")
    assert response.status_code == 200
    html = response.content.decode()
    expected = overview(actor=cast.leader, region=cast.world.district_a)
    shown = figures(html)
    for period in ("today", "month"):
        for key in ("reported", "filed", "closed", "overdue", "supervised"):
            assert shown[f"{period}-{key}"] == str(expected[period][key]), (period, key)
    assert shown["score"] == str(expected["measures"]["score"]) and shown["grade"] == expected["measures"]["grade"]
    assert shown["closed_on_time_rate"] == (
        "—" if expected["measures"]["closed_on_time_rate"] is None
        else f"{expected['measures']['closed_on_time_rate'] * 100:.1f}%")
    assert expected["today"]["reported"] == 2 and expected["today"]["filed"] == 1
    assert expected["month"]["overdue"] == 1 and expected["month"]["supervised"] == 1
    # The act-on list links the overdue, supervised case to its console page.
    assert f'href="/console/cases/{cases.pk}/"' in html and cases.number in html
    assert shown["act-on-count"] == "1"
    # The children (streets) rank with drill-down links; the one street of district A.
    assert f'href="?region={cast.world.street_a.code}"' in html
    assert [row["code"] for row in expected["rankings"]["children"]] == [cast.world.street_a.code]
    # The charts draw the very same figures.
    data = json.loads(re.search(r'<script id="wall-data" type="application/json">(.*?)</script>', html, re.S)[1])
    assert data["trend"] == expected["trend"] and data["map"] == expected["map"]
    assert sum(c["count"] for c in data["channels"]) == expected["month"]["reported"]
    # The leader's own district is the top: no way up to the city (no breadcrumbs at all here).
    assert '<nav class="crumbs"' not in html and cast.world.city.name not in html


def test_the_wall_links_to_the_monthly_assessment_and_the_console(client, cast):
    header = signed_in(client, cast.leader).get("/command/").content.decode().split("</header>")[0]
    assert 'href="/command/assessment/"' in header and 'href="/console/"' in header


def test_drilling_down_to_a_street_and_a_grid(client, cast, cases):
    client = signed_in(client, cast.leader)
    html = client.get(f"/command/?region={cast.world.street_a.code}").content.decode()
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S)[0]
    assert f'href="?region={cast.world.district_a.code}"' in crumbs and cast.world.street_a.name in crumbs
    assert f'href="?region={cast.world.community_a.code}"' in html  # the communities rank below

    response = client.get(f"/command/?region={cast.world.grid_a.code}")
    assert response.status_code == 200
    html = response.content.decode()
    expected = overview(actor=cast.leader, region=cast.world.grid_a)
    shown = figures(html)
    assert shown["today-reported"] == str(expected["today"]["reported"]) == "2"
    assert shown["month-overdue"] == str(expected["month"]["overdue"]) == "1"
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S)[0]
    assert [cast.world.district_a.name, cast.world.street_a.name, cast.world.community_a.name,
            cast.world.grid_a.name] == re.findall(r"<li>(?:<a [^>]*>|<span [^>]*>)([^<]+)<", crumbs)
    assert "nothing further down" in html or "没有下级" in html  # a grid is the last level


def test_the_map_carries_the_childrens_polygons(client, cast, cases):
    html = signed_in(client, cast.leader).get(f"/command/?region={cast.world.community_a.code}").content.decode()
    setup = json.loads(re.search(r'<script id="map-setup" type="application/json">(.*?)</script>', html, re.S)[1])
    assert set(setup["shapes"]["areas"]) == {cast.world.grid_a.code, cast.world.grid_a2.code}
    ring = setup["shapes"]["areas"][cast.world.grid_a.code]["coordinates"][0]
    assert {tuple(p) for p in ring} == {(120.0, 40.0), (120.01, 40.0), (120.01, 40.01), (120.0, 40.01)}
    assert setup["tiles"] == ""  # no base tiles unless YIWANG_TILE_URL is configured


def test_tiles_only_when_configured(client, cast, settings):
    settings.YIWANG_TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    html = signed_in(client, cast.leader).get("/command/").content.decode()
    assert "https://tiles.example/{z}/{x}/{y}.png" in html


@pytest.mark.parametrize("where", ["district_b", "street_b", "grid_b", "city"])
def test_a_leader_gets_404_outside_their_district(client, cast, where):
    code = getattr(cast.world, where).code
    response = signed_in(client, cast.leader).get(f"/command/?region={code}")
    assert response.status_code == 404
    assert getattr(cast.world, where).name not in response.content.decode()


def test_a_street_leader_gets_404_for_another_street(client, cast, person, world):
    from yiwang.geo import services as geo

    street_a3 = geo.region_create(actor=None, code="219901003000", name="甲三街道", level="street",
                                  parent=world.district_a)
    leader = person("leader", region=world.street_a, username="leader_street_a")
    client = signed_in(client, leader)
    assert client.get("/command/").status_code == 200
    assert f"<h1 id=\"wall-title\">{world.street_a.name}</h1>" in client.get("/command/").content.decode()
    assert client.get(f"/command/?region={street_a3.code}").status_code == 404
    assert client.get(f"/command/?region={world.district_a.code}").status_code == 404
    assert client.get("/command/?region=nonsense").status_code == 404


def test_a_resident_has_no_wall(client, cast):
    assert signed_in(client, cast.resident).get("/command/").status_code == 404


def test_a_full_act_on_list_says_there_are_more_and_links_the_full_lists(client, cast, cases, monkeypatch):
    from yiwang.command import selectors, views

    html = signed_in(client, cast.leader).get("/command/").content.decode()
    assert figures(html)["act-on-count"] == "1" and 'href="/console/leader/"' not in html
    monkeypatch.setattr(selectors, "ACT_ON_LIMIT", 1)
    monkeypatch.setattr(views, "ACT_ON_LIMIT", 1)
    html = client.get("/command/").content.decode()  # the overdue, supervised case fills the one-line list
    assert figures(html)["act-on-count"] == "1+" and cases.number in html
    assert 'href="/console/leader/"' in html


def test_the_refresh_answers_the_live_panels_out_of_band(client, cast, cases, loop):
    client = signed_in(client, cast.leader)
    loop("reported")
    response = client.get(f"/command/?region={cast.world.district_a.code}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "map-setup" not in html  # no shell, no polygons
    for panel in ("wall-status", "p-figures", "p-measures", "p-channels", "p-trend", "p-hot", "p-children",
                  "p-units", "p-act-on", "wall-data-box"):
        assert re.search(rf'id="{panel}"[^>]*hx-swap-oob="true"', html), panel
    assert figures(html)["today-reported"] == "3"  # two from `cases`, one just now


def test_the_superuser_sees_the_root_region(client, cast, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    html = signed_in(client, admin).get("/command/").content.decode()
    root = Region.objects.filter(parent__isnull=True).order_by("path").first()
    assert f"<h1 id=\"wall-title\">{root.name}</h1>" in html


def test_units_rank_on_the_cases_due_to_them(client, cast, cases):
    """The unit ranking shows each unit's cases due to be handled in the month and its on-time handling rate,
    equal to the unit's own measures (seen at the end of November: the case in hand since November 9 fell due
    that month)."""
    from yiwang.cases.measures import measures_month
    from yiwang.core import clock

    end_of_november = LAST_WEEK.replace(day=30, hour=20)
    with clock.frozen(end_of_november):
        html = signed_in(client, cast.leader).get("/command/").content.decode()
        rows = overview(actor=cast.leader, region=cast.world.district_a)["rankings"]["units"]
    unit = cast.world.unit_a
    [row] = [r for r in rows if r["code"] == unit.code]
    own = measures_month(actor=None, year=2026, month=11, unit=unit, now=end_of_november)
    assert row["due_handle"] == own.counts["due_handle"] == 1
    assert row["handled_on_time_rate"] == own.rates["handled_on_time_rate"] == 0
    assert (row["score"], row["grade"]) == (own.score, own.grade)
    shown = re.search(rf'<tr data-code="{unit.code}">(.*?)</tr>', html, re.S)[1]
    assert re.findall(r'<td class="num">([^<]*)</td>', shown)[-2:] == ["1", "0.0%"]
