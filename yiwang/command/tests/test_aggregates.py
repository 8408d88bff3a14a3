# ruff: noqa: F811  (the case loop's fixtures are imported, then asked for by name)
"""The rollups after a history through the real services: equal to a recount from scratch, and the overview's
and the assessment's figures equal to yiwang.cases.measures and to plain GROUP BY counts."""

import datetime as dt

import pytest

from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.measures import COUNTS, RATES, measures_for, measures_month
from yiwang.cases.tests.conftest import MONDAY, TZ, after_photo, cast, media, report  # noqa: F401
from yiwang.cases.tests.test_loop import walk_to
from yiwang.cases.tests.test_measures import IN_A2, TUESDAY, history  # noqa: F401
from yiwang.command import aggregates, plain
from yiwang.command.models import DayFigures, DueSlot, MonthFigures, MonthMix, OpenCases
from yiwang.command.selectors import assessment, overview
from yiwang.core import clock

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
DECEMBER_3 = dt.datetime(2026, 12, 3, 10, 30, tzinfo=TZ)


@pytest.fixture
def more(history, cast, report):
    """The measures' history, and escalation, parking, supervision, the sweep, reopening and December."""
    w = cast.world
    escalated = walk_to(cast, report(**IN_A2), Status.FILED)
    escalated = s.case_escalate(actor=cast.dispatcher, case=escalated, reason="街道吹哨", now=MONDAY + H)
    parked = walk_to(cast, report(), Status.DISPATCHED)
    s.case_park(actor=cast.shift_lead, case=parked, reason="疑难", now=MONDAY + H)
    supervised = walk_to(cast, report(), Status.IN_PROGRESS)
    s.case_supervise(actor=cast.leader, case=supervised, action="deadline",
                     due_at=TUESDAY + 30 * H, note="抓紧", now=MONDAY + 2 * H)
    s.case_supervise(actor=cast.leader, case=history.open, action="urge", note="催办", now=MONDAY + 2 * H)
    for day in range(1, 6):
        s.deadline_sweep(now=MONDAY + dt.timedelta(days=day))
    s.case_resume(actor=cast.shift_lead, case=parked, now=TUESDAY + 2 * H)
    late = s.case_reopen(actor=cast.shift_lead, case=history.late, reason="群众不满意", now=TUESDAY + 9 * H)
    s.case_sign(actor=cast.unit, case=late, now=TUESDAY + 10 * H)
    december = walk_to(cast, report(now=DECEMBER_3 - 24 * H), Status.CLOSED, now=DECEMBER_3 - 20 * H)
    s.case_rate(actor=cast.resident, case=december, rating="satisfied", now=DECEMBER_3 - 19 * H)
    s.case_void(actor=cast.shift_lead, case=report(now=DECEMBER_3 - 3 * H), reason="误报", now=DECEMBER_3 - 2 * H)
    report(now=DECEMBER_3 - H, lat=None, lon=None, region=w.community_a2)
    return history


def test_the_rollups_equal_a_recount_from_scratch(more):
    assert DayFigures.objects.exists() and MonthFigures.objects.exists()
    assert OpenCases.objects.exists() and MonthMix.objects.exists()
    with clock.frozen(DECEMBER_3):  # "now" after the history: the deadlines by slot kept from December 2 on
        assert aggregates.check() == []
        live = aggregates.snapshot_rows()
        aggregates.recount()
        assert aggregates.snapshot_rows() == live
        assert DueSlot.objects.exists()


def test_the_check_finds_a_rollup_that_went_wrong(more, cast):
    row = DayFigures.objects.filter(node=cast.world.district_a.path).first()
    row.reported += 1
    row.save()
    with clock.frozen(DECEMBER_3):
        differences = aggregates.check()
    assert len(differences) == 1 and cast.world.district_a.path in differences[0]


@pytest.fixture
def deadlines_on_tuesday(history, cast, report):
    """The measures' history (its last step on Tuesday 17:00), and cases a leader gave until Tuesday 19:00,
    17:03, 17:11 and 17:13 (one handled already): the day cut at a "now" just after 17:00 counts some of
    Tuesday's deadlines and not others, from the day's row or from its quarter-hour slots, and in the slot cut
    at now (17:00–17:15) counted exactly, forward from 17:00 or back from 17:15."""
    for due in (10 * H, 8 * H + 3 * M, 8 * H + 11 * M, 8 * H + 13 * M):
        case = walk_to(cast, report(), Status.IN_PROGRESS)
        s.case_supervise(actor=cast.leader, case=case, action="deadline", due_at=TUESDAY + due, now=MONDAY + H)
        case.refresh_from_db()
        assert case.handle_due_at == TUESDAY + due
    s.case_feedback(actor=cast.unit, case=case, result="已处理", now=MONDAY + 2 * H)


@pytest.fixture
def tuesday(deadlines_on_tuesday):
    """17:07: nearer 17:00, so 17:03 is counted exactly (and 17:11 and 17:13 are not yet due)."""
    return TUESDAY + 8 * H + 7 * M


@pytest.fixture
def tuesday_later(deadlines_on_tuesday):
    """17:12: nearer 17:15, so the slot's row less 17:13 counted exactly (17:03 and 17:11 are due)."""
    return TUESDAY + 8 * H + 12 * M


# The rollups answer for "now" — the time of the request, after every recorded change. (A `now` before some
# recorded change is answered exactly by the plain counts only.)
NOWS = ["tuesday", "tuesday_later", DECEMBER_3, DECEMBER_3 + 13 * H, dt.datetime(2026, 12, 10, 8, tzinfo=TZ)]


@pytest.mark.parametrize("now", NOWS)
def test_the_overview_agrees_with_the_measures_and_plain_counts(request, cast, now):
    if isinstance(now, str):
        now = request.getfixturevalue(now)
    else:
        request.getfixturevalue("more")
    w = cast.world
    for place in (w.city, w.district_a, w.street_a, w.community_a, w.grid_a, w.district_b):
        data = overview(actor=None, region=place, now=now)
        assert data == {**overview(actor=None, region=place, now=now, source=plain), "as_of": data["as_of"]}
        local = now.astimezone(TZ)
        kind = "grid" if place == w.grid_a else "region"
        expected = measures_month(actor=None, year=local.year, month=local.month, now=now, **{kind: place})
        assert {k: data["measures"][k] for k in COUNTS} == expected.counts, (place, now)
        assert {k: data["measures"][k] for k in RATES} == expected.rates
        assert (data["measures"]["score"], data["measures"]["grade"]) == (expected.score, expected.grade)
        midnight = dt.datetime.combine(local.date(), dt.time(), tzinfo=TZ)
        today = measures_for(actor=None, period_start=midnight, period_end=midnight + 24 * H, now=now,
                             **{kind: place})
        assert (data["today"]["reported"], data["today"]["filed"]) == (today.counts["reported"],
                                                                        today.counts["filed"])
        for child in data["rankings"]["children"]:
            assert child["reported"] == measures_month(
                actor=None, year=local.year, month=local.month, now=now,
                **({"grid": w.grid_a if child["code"] == w.grid_a.code else w.grid_a2} if child["level"] == "grid"
                   else {"region": type(w.city).objects.get(code=child["code"])})).counts["reported"]


def test_the_overview_counts_something(more, cast):
    data = overview(actor=None, region=cast.world.district_a, now=TUESDAY + 2 * H)
    assert data["month"]["reported"] >= 10 and data["month"]["overdue"] > 0 and data["month"]["supervised"] > 0
    assert data["measures"]["due_handle"] > 0 and sum(c["count"] for c in data["channels"]) >= 10
    assert data["hot_categories"][0]["code"] == "E0102" and data["act_on"]


@pytest.mark.parametrize("now", ["tuesday", DECEMBER_3])
@pytest.mark.parametrize("level", ["street", "community", "grid", "unit"])
def test_the_assessment_agrees_with_the_measures(request, cast, level, now):
    from yiwang.geo.models import Grid, Region
    from yiwang.org.models import Unit

    if now == "tuesday":
        now = request.getfixturevalue("tuesday")
    else:
        request.getfixturevalue("more")

    rows = assessment(actor=None, region=cast.world.city, year=2026, month=11, level=level, now=now)
    assert rows == assessment(actor=None, region=cast.world.city, year=2026, month=11, level=level, now=now,
                              source=plain)
    assert rows and [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    for row in rows:
        subject = ({"unit": Unit.objects.get(code=row["code"])} if level == "unit" else
                   {"grid": Grid.objects.get(code=row["code"])} if level == "grid" else
                   {"region": Region.objects.get(code=row["code"])})
        expected = measures_month(actor=None, year=2026, month=11, now=now, **subject)
        assert {k: row[k] for k in COUNTS} == expected.counts, row["code"]
        assert (row["score"], row["grade"]) == (expected.score, expected.grade)


ALONG = {"open_count": None}  # read along the open cases' own indexes (case_open_latest, case_open_due)
SUBTREE = {"open_count": 0, "all_open": 1}  # read through the subtree's (status, path) index


@pytest.mark.parametrize("place", ["city", "district_a", "community_a", "grid_a"])
def test_the_lists_read_along_the_index_equal_those_read_through_the_subtree(more, cast, place):
    from yiwang.command import selectors

    region = getattr(cast.world, place)
    now = DECEMBER_3
    assert selectors.act_on(region, now, **ALONG) == selectors.act_on(region, now, **SUBTREE)
    assert selectors.points(region, now, **ALONG) == selectors.points(region, now, **SUBTREE)
    assert selectors.act_on(region, now, **ALONG) and selectors.points(region, now, **ALONG)


@pytest.mark.parametrize("place", ["city", "district_a", "community_a"])
def test_the_lists_break_ties_in_time_the_same_way_on_both_indexes(more, cast, place, monkeypatch):
    """Cases reported (and due) at the very same moment come in the same order (by id) along the open cases'
    indexes as through the subtree's, however many are asked for."""
    from yiwang.cases.models import Case
    from yiwang.command import selectors

    region = getattr(cast.world, place)
    now = DECEMBER_3
    tied = list(Case.objects.filter(region_path__startswith=region.path).order_by("id")[:6])
    Case.objects.filter(pk__in=[c.pk for c in tied]).update(reported_at=tied[0].reported_at, due_at=tied[0].due_at)
    for limit in (1, 2, 3):
        monkeypatch.setattr(selectors, "POINTS_LIMIT", limit)
        monkeypatch.setattr(selectors, "ACT_ON_LIMIT", limit)
        by_subtree = selectors.points(region, now, **SUBTREE)
        assert len(by_subtree) == limit
        assert selectors.points(region, now, **ALONG) == by_subtree
        assert selectors.act_on(region, now, **ALONG) == selectors.act_on(region, now, **SUBTREE)


def test_a_small_subtree_reads_its_own_index_and_a_big_one_the_open_cases(more, cast, monkeypatch):
    from yiwang.command import selectors

    assert not selectors._along_open_index(1, 51) and selectors._along_open_index(1, 50)
    taken = []
    monkeypatch.setattr(selectors, "_open_along", lambda *args, **kwargs: taken.append(args[0]) or [])
    data = selectors.overview(actor=None, region=cast.world.city, now=DECEMBER_3)
    assert taken == ["case_open_due", "case_open_latest"] and data["points"] == []
    taken.clear()
    monkeypatch.setattr(selectors, "OPEN_SHARE", 0)  # every subtree "small"
    data = selectors.overview(actor=None, region=cast.world.city, now=DECEMBER_3)
    assert taken == [] and data["points"] and data["act_on"]


def test_the_deadline_sweep_forgets_the_slots_before_yesterday(more):
    """Writes no longer prune the quarter-hour slots; the sweep task does, and only those no read looks at."""
    from yiwang.cases.tasks import sweep_deadlines

    old = DueSlot.objects.create(node="/old/", start=DECEMBER_3 - 60 * H, due_handle=1)
    kept = DueSlot.objects.create(node="/kept/", start=DECEMBER_3 - 20 * H, due_handle=1)
    with clock.frozen(DECEMBER_3):
        sweep_deadlines.call_local()
    assert not DueSlot.objects.filter(pk=old.pk).exists()
    assert DueSlot.objects.filter(pk=kept.pk).exists()


def test_a_change_to_many_rollup_rows_at_once_adds_every_one(cast):
    """The rollups' upsert (PostgreSQL: one statement of arrays unnested; SQLite: one prepared statement over
    all rows) adds rows new and old, on every table, for a change of hundreds of rows."""
    top = cast.world.community_a.path
    rows = [{"status": Status.REPORTED, "region_path": f"{top}x{n:04d}/", "reported_at": MONDAY, "channel": "app",
             "category_id": None} for n in range(507)]

    def reported(node):
        return sum(DayFigures.objects.filter(node=node, day=MONDAY.date()).values_list("reported", flat=True))

    def by_app():
        return sum(MonthMix.objects.filter(node=top, dimension="channel", value="app").values_list("n", flat=True))

    before, app_before = reported(top), by_app()
    with clock.frozen(MONDAY):
        aggregates.cases_inserted(rows)
        aggregates.cases_inserted(rows[:3])
    assert reported(f"{top}x0000/") == 2
    assert reported(f"{top}x0503/") == 1
    assert reported(top) == before + len(rows) + 3
    assert MonthFigures.objects.get(node=f"{top}x0009/").reported == 1
    assert by_app() == app_before + len(rows) + 3


def test_a_node_with_the_characters_an_array_literal_escapes_is_added_as_it_is(cast):
    """On PostgreSQL the rollup rows go as the text of array literals: quotes, backslashes, commas, braces and
    spaces in a node are kept."""
    node = f'{cast.world.community_a.path}a"b\\c,{{d}} e/'
    row = {"status": Status.REPORTED, "region_path": node, "reported_at": MONDAY, "channel": "app",
           "category_id": None}
    with clock.frozen(MONDAY):
        aggregates.cases_inserted([row, row])
    assert DayFigures.objects.get(node=node, day=MONDAY.date()).reported == 2
    assert MonthFigures.objects.get(node=node).reported == 2
