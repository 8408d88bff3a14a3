# ruff: noqa: F811  (the case loop's fixtures are imported, then asked for by name)
"""The leader's phone view and the monthly assessment over HTTP: sign-in, the figures equal the selectors',
督办/催办 write a supervision row and a journal entry, a refusal (another street, not a leader, a wrong action)
changes nothing, the assessment's rows equal `assessment()`, its exports and printable report work, and a bad
month is a clear Chinese error."""

import csv
import datetime as dt
import io
import re

import pytest

from yiwang.cases import services
from yiwang.cases.measures import measures_month
from yiwang.cases.models import Case, CaseSupervision
from yiwang.cases.tests.conftest import MONDAY, cast, journal, report  # noqa: F401
from yiwang.command.selectors import assessment, overview, region_month
from yiwang.console.tests.conftest import LAST_WEEK, loop  # noqa: F401
from yiwang.core.models import AuditEntry

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
NOW = MONDAY.replace(hour=15)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    from yiwang.core import clock

    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client
    return login


@pytest.fixture
def late(loop):
    """A case of grid A1 dispatched a fortnight ago: red (overdue) now."""
    return loop("in_progress", now=LAST_WEEK)


def figures(body: str) -> dict[str, str]:
    return dict(re.findall(r'data-fig="([\w-]+)">([^<]*)<', body))


def state(case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.status, case.supervised, CaseSupervision.objects.filter(case=case).count(),
            AuditEntry.objects.count(), journal(case))


# --- sign-in and scope -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/command/m/", "/command/assessment/", "/command/assessment/print/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={url}"


def test_an_anonymous_urge_is_sent_to_sign_in_and_changes_nothing(client, late):
    before = state(late)
    response = client.post(f"/command/m/cases/{late.pk}/supervise/", {"action": "urge"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert state(late) == before


def test_another_districts_area_is_not_found(as_user, cast):
    client = as_user(cast.leader)
    for url in (f"/command/m/?region={cast.world.district_b.code}", "/command/m/?region=999",
                f"/command/assessment/?region={cast.world.street_b.code}",
                f"/command/assessment/print/?region={cast.world.district_b.code}&month=2026-13"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert cast.world.district_b.name not in response.content.decode()


def test_a_resident_watches_no_area(as_user, cast):
    assert as_user(cast.resident).get("/command/m/").status_code == 404


# --- the phone view ----------------------------------------------------------------------------------------------

def test_the_figures_are_the_overviews(as_user, cast, report, late):
    report()
    report(channel="patrol", actor=cast.grid_worker)
    response = as_user(cast.leader).get("/command/m/")
    assert response.status_code == 200
    body = response.content.decode()
    data = overview(actor=cast.leader, region=cast.world.district_a)
    assert data["today"]["reported"] == 2 and data["month"]["reported"] == 3 and data["month"]["overdue"] >= 1
    shown = figures(body)
    for name in ("reported", "filed", "closed"):
        assert shown[f"today-{name}"] == str(data["today"][name])
        assert shown[f"month-{name}"] == str(data["month"][name])
    assert shown["overdue"] == str(data["month"]["overdue"]) and shown["supervised"] == str(data["month"]["supervised"])
    assert shown["score"] == str(data["measures"]["score"]) and shown["grade"] == data["measures"]["grade"]
    # The act-on list: the red case, with its buttons; the child areas ranked, each a link one level down.
    assert data["act_on"][0]["id"] == late.pk  # the most overdue first
    assert re.findall(r'<li class="act[^"]*" id="case-(\d+)"', body) == [str(row["id"]) for row in data["act_on"]]
    assert 'value="urge"' in body and 'value="flag"' in body
    assert f'href="?region={cast.world.street_a.code}"' in body


def test_a_full_act_on_list_counts_with_a_plus(as_user, cast, late, monkeypatch):
    from yiwang.command import selectors, views_leader

    client = as_user(cast.leader)
    assert re.search(r'id="h-act">[^<]*<span class="count">1</span>', client.get("/command/m/").content.decode())
    monkeypatch.setattr(selectors, "ACT_ON_LIMIT", 1)
    monkeypatch.setattr(views_leader, "ACT_ON_LIMIT", 1)
    assert re.search(r'id="h-act">[^<]*<span class="count">1\+</span>', client.get("/command/m/").content.decode())


@pytest.mark.parametrize("url", ["/command/m/", "/command/assessment/"])
def test_the_leaders_pages_link_to_the_console(as_user, cast, url):
    header = as_user(cast.leader).get(url).content.decode().split("</header>")[0]
    assert 'href="/console/"' in header


def test_drilling_down_shows_the_way_back_up(as_user, cast, late):
    client = as_user(cast.leader)
    body = client.get(f"/command/m/?region={cast.world.community_a.code}").content.decode()
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', body, re.S).group(0)
    assert re.findall(r">([^<>]+)</(?:a|span)>", crumbs) == ["甲区", "甲街道", "甲社区"]
    assert f'href="?region={cast.world.grid_a.code}"' in body  # its grids, ranked
    body = client.get(f"/command/m/?region={cast.world.grid_a.code}").content.decode()
    assert figures(body)["overdue"] == "1" and late.number in body


def test_a_leader_urges_with_one_click(as_user, cast, late):
    client = as_user(cast.leader)
    response = client.post(f"/command/m/cases/{late.pk}/supervise/",
                           {"action": "urge", "note": "请今天办结", "region": cast.world.street_a.code})
    assert response.status_code == 303
    assert response["Location"] == f"/command/m/?region={cast.world.street_a.code}#case-{late.pk}"
    row = CaseSupervision.objects.get(case=late)
    assert (row.action, row.note, row.leader) == ("urge", "请今天办结", cast.leader)
    entry = AuditEntry.objects.filter(object_type="cases.case", object_id=str(late.pk)).order_by("id").last()
    assert (entry.action, entry.actor_id, entry.reason) == ("case.supervise", cast.leader.pk, "请今天办结")
    assert Case.objects.get(pk=late.pk).supervised
    body = client.get(response["Location"]).content.decode()
    assert late.number in re.search(r'class="msg msg-success">([^<]*)<', body).group(1)
    assert 'data-urged="1"' in body and "已督办" in body


def test_urging_through_htmx_answers_the_cases_row(as_user, cast, late):
    client = as_user(cast.leader)
    response = client.post(f"/command/m/cases/{late.pk}/supervise/", {"action": "urge"}, **HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li class="act act-red" id="case-{late.pk}"')
    assert 'data-urged="1"' in body and "msg-success" in body
    # The figures come along out of band: the case is supervised now.
    assert '<section id="figures" aria-labelledby="h-figures" hx-swap-oob="true">' in body
    assert figures(body)["supervised"] == "1"
    response = client.post(f"/command/m/cases/{late.pk}/supervise/", {"action": "flag"}, **HX)
    assert 'data-urged="1"' in response.content.decode()  # flagging is not urging
    assert list(CaseSupervision.objects.filter(case=late).order_by("id").values_list("action", flat=True)) == [
        "urge", "flag"]


def test_a_street_leader_cannot_urge_another_streets_case(as_user, cast, person, report):
    case = report(**{"lat": 40.005, "lon": 120.105})  # street B
    street_a_leader = person("leader", region=cast.world.street_a)
    before = state(case)
    for extra in ({}, HX):
        response = as_user(street_a_leader).post(f"/command/m/cases/{case.pk}/supervise/", {"action": "urge"},
                                                 **extra)
        assert response.status_code == 404
    assert state(case) == before


def test_someone_who_is_no_leader_is_refused_and_nothing_changes(as_user, cast, late):
    client = as_user(cast.dispatcher)  # sees street A's cases, may not supervise them
    assert 'value="urge"' not in client.get("/command/m/").content.decode()
    before = state(late)
    response = client.post(f"/command/m/cases/{late.pk}/supervise/", {"action": "urge"})
    assert response.status_code == 403
    assert "您无权进行此操作。" in response.content.decode()
    response = client.post(f"/command/m/cases/{late.pk}/supervise/", {"action": "urge"}, **HX)
    assert response.status_code == 403 and 'class="msg msg-error" role="alert"' in response.content.decode()
    assert "hx-swap-oob" not in response.content.decode()
    assert state(late) == before


def test_a_deadline_or_unknown_action_is_refused(as_user, cast, late):
    before = state(late)
    for action in ("deadline", "", "void"):
        response = as_user(cast.leader).post(f"/command/m/cases/{late.pk}/supervise/", {"action": action})
        assert response.status_code == 400
    assert state(late) == before


def test_a_closed_case_cannot_be_urged(as_user, cast, loop):
    case = loop("reported")
    services.case_void(actor=cast.shift_lead, case=case, reason="重复")
    before = state(case)
    response = as_user(cast.leader).post(f"/command/m/cases/{case.pk}/supervise/", {"action": "urge"}, **HX)
    assert response.status_code == 409 and "msg-error" in response.content.decode()
    assert state(case) == before


# --- the monthly assessment ---------------------------------------------------------------------------------------

def rows_of(body: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<tr data-code="([^"]+)">.*?data-col="score"><b>([^<]+)</b>.*?data-col="grade">'
                      r'<span class="grade grade-\w">(\w)</span>', body, re.S)


@pytest.mark.parametrize("level", ["street", "community", "grid", "unit"])
def test_the_assessment_table_is_the_selectors(as_user, cast, report, late, level):
    report()
    report(**{"lat": 40.005, "lon": 120.015})  # grid A2
    body = as_user(cast.leader).get(f"/command/assessment/?month=2026-11&level={level}").content.decode()
    expected = assessment(actor=cast.leader, region=cast.world.district_a, year=2026, month=11, level=level)
    assert expected, level
    assert rows_of(body) == [(r["code"], str(r["score"]), r["grade"]) for r in expected]
    assert 'aria-current="page">' in body


def test_the_assessment_defaults_to_this_month_and_streets(as_user, cast, late):
    body = as_user(cast.leader).get("/command/assessment/").content.decode()
    assert month_choices(body)[0] == ("2026-11", True, "2026年11月")
    assert [code for code, _s, _g in rows_of(body)] == [cast.world.street_a.code]
    summary = measures_month(actor=None, year=2026, month=11, region=cast.world.district_a, now=NOW)
    assert figures(body)["score"] == str(summary.score)


def test_the_download_links_work(as_user, cast, late):
    client = as_user(cast.leader)
    body = client.get("/command/assessment/?month=2026-11&level=grid").content.decode()
    link = re.search(r'href="(/api/v1/command/assessment\.csv\?[^"]+)"', body).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [line[1] for line in table[1:]] == [code for code, _s, _g in rows_of(body)]
    link = re.search(r'href="(/api/v1/command/assessment\.xlsx\?[^"]+)"', body).group(1).replace("&amp;", "&")
    assert client.get(link).status_code == 200


def test_the_printable_report(as_user, cast, late):
    body = as_user(cast.leader).get(
        f"/command/assessment/print/?region={cast.world.district_a.code}&month=2026-11&level=grid").content.decode()
    assert re.search(r"<h1>甲区 2026.11", body)
    summary = region_month(actor=cast.leader, region=cast.world.district_a, year=2026, month=11)
    assert figures(body)["score"] == str(summary.score)
    assert summary.score == measures_month(actor=None, year=2026, month=11, region=cast.world.district_a,
                                           now=NOW).score
    assert len(rows_of(body)) == 2  # grids A1 and A2
    assert "data-print" in body and "@media print" not in body  # the print rules live in the stylesheet


@pytest.mark.parametrize("url", ["/command/assessment/", "/command/assessment/print/", "/command/m/"])
def test_the_measures_are_named_in_the_users_language(as_user, cast, late, url):
    client = as_user(cast.leader)
    chinese = client.get(url).content.decode()
    assert "按期结案率" in chinese and "满意率" in chinese
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "On-time closing rate" in english and "Satisfaction rate" in english
    for name in ("上报数", "立案数", "应结案数", "按期结案数", "监督举报率", "结案率", "满意率"):
        assert name not in english, name


@pytest.mark.parametrize("query", ["month=2026-13", "month=26-1", "month=十一月", "level=planet"])
def test_a_bad_month_or_level_is_a_clear_error(as_user, cast, query):
    response = as_user(cast.leader).get(f"/command/assessment/?{query}")
    assert response.status_code == 400
    message = re.search(r'role="alert">([^<]+)<', response.content.decode()).group(1)
    assert message in ("请按 YYYY-MM 格式填写月份。", "请选择街道、社区、网格或单位。")
    assert as_user(cast.leader).get(f"/command/assessment/print/?{query}").status_code == 400


def month_choices(body: str) -> list[tuple[str, bool, str]]:
    picker = re.search(r'<select id="month" name="month"[^>]*>(.*?)</select>', body, re.S).group(1)
    return [(value, bool(selected), label) for value, selected, label
            in re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', picker)]


def test_the_month_is_picked_from_a_list_in_the_users_language(as_user, cast, late):
    """Three years of months, newest first, named in the page's language (the browser's month input spoke the
    browser's); a month further back given in the address is offered too, and chosen."""
    client = as_user(cast.leader)
    months = month_choices(client.get("/command/assessment/?month=2026-10").content.decode())
    assert len(months) == 36 and months[0] == ("2026-11", False, "2026年11月")
    assert months[1] == ("2026-10", True, "2026年10月") and months[-1] == ("2023-12", False, "2023年12月")
    assert [value for value, _s, _l in months] == sorted((value for value, _s, _l in months), reverse=True)
    old = month_choices(client.get("/command/assessment/?month=2019-02").content.decode())
    assert len(old) == 37 and old[-1] == ("2019-02", True, "2019年2月")
    english = client.get("/command/assessment/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert month_choices(english)[0] == ("2026-11", True, "November 2026")
    assert [selected for _v, selected, _l in month_choices(
        client.get("/command/assessment/?month=2026-13").content.decode())] == [False] * 36


def test_a_past_month(as_user, cast, report):
    report(now=dt.datetime(2026, 10, 12, 10, 0, tzinfo=MONDAY.tzinfo))
    body = as_user(cast.leader).get("/command/assessment/?month=2026-10&level=grid").content.decode()
    expected = assessment(actor=cast.leader, region=cast.world.district_a, year=2026, month=10, level="grid")
    assert rows_of(body) == [(r["code"], str(r["score"]), r["grade"]) for r in expected]
    assert {r["code"]: r["reported"] for r in expected}[cast.world.grid_a.code] == 1
