"""The measures of DESIGN §6 on a small known history built through the real services: every count and rate,
the period's edges, the three kinds of subject, the peers, the score and grade, who may see them, the queries
they take, and the API."""

import datetime as dt
from fractions import Fraction
from types import SimpleNamespace

import pytest

from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.measures import (
    COUNTS,
    RATES,
    area_score,
    grade_for,
    measures_for,
    measures_month,
    month_bounds,
)
from yiwang.cases.tests.conftest import IN_B, MONDAY, TZ
from yiwang.cases.tests.test_loop import walk_to
from yiwang.core import clock
from yiwang.core.errors import NotFound, ValidationFailed

H = dt.timedelta(hours=1)
TUESDAY = MONDAY + dt.timedelta(days=1)  # 09:00; a case filed on Monday 09:00 is due to be handled now
IN_A2 = {"lat": 40.005, "lon": 120.015}  # inside grid A2 (community A, like grid A1)
NOVEMBER = (dt.datetime(2026, 11, 1, tzinfo=TZ), dt.datetime(2026, 12, 1, tzinfo=TZ))
AFTER = dt.datetime(2026, 12, 1, tzinfo=TZ)  # "now" once November is over


@pytest.fixture
def history(cast, report, after_photo):
    """Garbage cases (1 working day to handle, 2 working hours to respond and to verify) in November 2026,
    mostly in grid A1 of community A, street A, district A."""
    w, h = cast.world, SimpleNamespace()

    # Found on patrol, handled and closed at once.
    h.on_time = walk_to(cast, report(actor=cast.grid_worker, channel="patrol"), Status.CLOSED)
    # Handled a day late (due Tuesday 09:00), closed late (due Tuesday 11:00), rated unsatisfied.
    h.late = walk_to(cast, report(), Status.IN_PROGRESS)
    h.late = s.case_feedback(actor=cast.unit, case=h.late, result="已清运", now=TUESDAY + 6 * H)
    h.late = s.case_verify(actor=cast.grid_worker, case=h.late, now=TUESDAY + 7 * H)
    h.late = s.case_rate(actor=cast.resident, case=h.late, rating="unsatisfied", now=TUESDAY + 8 * H)
    # Sent back once, then handled and closed in time, rated basically satisfied.
    h.reworked = walk_to(cast, report(), Status.HANDLED)
    h.merged_closed = s.case_merge(actor=cast.acceptor, case=report(actor=cast.resident2, now=MONDAY + H / 2),
                                   into=h.reworked, now=MONDAY + H / 2)  # closed with its parent below
    h.reworked = s.case_rework(actor=cast.grid_worker, case=h.reworked, reason="仍有残留", now=MONDAY + H)
    h.reworked = s.case_feedback(actor=cast.unit, case=h.reworked, result="已清运", now=MONDAY + 2 * H)
    h.reworked = s.case_verify(actor=cast.grid_worker, case=h.reworked, now=MONDAY + 3 * H)
    h.reworked = s.case_rate(actor=cast.resident, case=h.reworked, rating="basically_satisfied",
                             now=MONDAY + 4 * H)
    # One more working day granted (due Wednesday 09:00), handled on Tuesday afternoon: in time.
    h.extended = walk_to(cast, report(), Status.IN_PROGRESS)
    s.case_extend(actor=cast.unit, case=h.extended, amount=1, unit="working_days", reason="材料未到",
                  now=MONDAY + H)
    s.case_decide_extension(actor=cast.dispatcher, case=h.extended, approve=True, now=MONDAY + 2 * H)
    h.extended = s.case_feedback(actor=cast.unit, case=h.extended, result="已清运", now=TUESDAY + 6 * H)
    h.extended = s.case_verify(actor=cast.grid_worker, case=h.extended, now=TUESDAY + 7 * H)
    # Never handled.
    h.open = walk_to(cast, report(), Status.IN_PROGRESS)
    h.merged = s.case_merge(actor=cast.acceptor, case=report(actor=cast.resident2, now=MONDAY + H),
                            into=h.open, now=MONDAY + H)
    # Accepted an hour after the response deadline (Monday 11:00), filed, waiting for dispatch.
    h.late_response = walk_to(cast, report(), Status.FILED, now=MONDAY + 3 * H)
    # Handled on the spot on patrol, checked by the community.
    h.self_handled = report(actor=cast.grid_worker, channel="patrol", now=MONDAY + 4 * H)
    h.self_handled = s.case_self_handle(actor=cast.grid_worker, case=h.self_handled, result="已现场清理",
                                        attachments=after_photo, now=MONDAY + 4 * H)
    h.self_handled = s.case_verify(actor=cast.community, case=h.self_handled, now=MONDAY + 5 * H)
    # Reported, never answered.
    h.unanswered = report()
    # Voided: counts nowhere, though it was reported, accepted, filed and due.
    h.voided = s.case_void(actor=cast.shift_lead, case=walk_to(cast, report(), Status.DISPATCHED),
                           reason="重复上报", now=MONDAY + H)
    # In grid A2 (same community) and in community A2 (no grid), filed.
    h.in_a2 = walk_to(cast, report(**IN_A2), Status.FILED)
    h.in_community_a2 = walk_to(cast, report(lat=None, lon=None, region=w.community_a2), Status.FILED)
    # District B, by the system; rated satisfied.
    h.in_b = report(**IN_B)
    for step in (s.case_accept, s.case_file):
        h.in_b = step(actor=None, case=h.in_b, now=MONDAY)
    h.in_b = s.case_dispatch(actor=None, case=h.in_b, unit=w.unit_b, now=MONDAY)
    h.in_b = s.case_sign(actor=None, case=h.in_b, now=MONDAY)
    h.in_b = s.case_feedback(actor=None, case=h.in_b, result="已清运", now=MONDAY)
    h.in_b = s.case_verify(actor=None, case=h.in_b, now=MONDAY)
    h.in_b = s.case_rate(actor=cast.resident, case=h.in_b, rating="satisfied", now=MONDAY + H)
    return h


def november(actor=None, now=AFTER, **subject):
    return measures_for(actor=actor, period_start=NOVEMBER[0], period_end=NOVEMBER[1], now=now, **subject)


# --- the history is what the tests below assume -------------------------------------------------------------

def test_the_history_has_the_deadlines_the_counts_rely_on(history):
    h = history
    assert h.on_time.handle_due_at == TUESDAY and h.on_time.close_due_at == TUESDAY + 2 * H
    assert h.on_time.respond_due_at == MONDAY + 2 * H and h.late_response.responded_at == MONDAY + 3 * H
    assert h.extended.extension_count == 1 and h.extended.handle_due_at == TUESDAY + dt.timedelta(days=1)
    assert h.reworked.rework_count == 1 and h.reworked.handle_due_at == TUESDAY
    assert h.self_handled.handle_due_at == h.self_handled.handled_at == MONDAY + 4 * H
    h.merged_closed.refresh_from_db()
    assert h.merged_closed.status == Status.CLOSED and h.merged_closed.parent == h.reworked
    assert h.merged.status == Status.MERGED and h.voided.status == Status.VOIDED
    assert h.in_community_a2.grid is None and h.in_community_a2.region_path == h.in_community_a2.region.path


# --- every count and rate -----------------------------------------------------------------------------------

DISTRICT_A = {
    # ten cases count: all but the voided one, the two merged ones and the one in district B
    "reported": 10, "patrol": 2, "accepted": 9, "filed": 9,
    "due_handle": 9, "handled": 5, "handled_on_time": 4, "handled_late": 1, "extended": 1,
    "due_close": 9, "closed": 5, "closed_on_time": 4, "reworked": 1, "resolved": 4,
    "due_respond": 10, "responded_on_time": 8, "rated": 2, "satisfied": 1,
}


def test_every_count_and_rate_of_a_district(cast, history):
    m = november(region=cast.world.district_a)
    assert m.counts == DISTRICT_A
    assert m.rates == {
        "patrol_rate": 2 / 10, "filed_rate": 1.0,
        "handled_rate": 5 / 9, "handled_on_time_rate": 4 / 9, "handled_late_rate": 1 / 9,
        "extended_rate": 1 / 9,
        "closed_rate": 5 / 9, "closed_on_time_rate": 4 / 9, "reworked_rate": 1 / 9,
        "responded_on_time_rate": 8 / 10, "resolved_rate": 4 / 9, "satisfied_rate": 1 / 2,
    }
    # district B filed 1, district A 9: A filed the most of its peers, so 立案数得分 is 0
    assert (m.peers_filed_max, m.filed_score) == (9, 0.0)
    # 100 × (0.1 × 2/10 + 0.2 × 0 + 0.3 × 5/9 + 0.4 × 4/9) = 2 + 34.44…
    assert (m.score, m.grade) == (36.4, "E")
    assert (m.subject.kind, m.subject.id, m.subject.code, m.subject.name) == (
        "region", cast.world.district_a.pk, "219901000000", "甲区")
    assert m.period_start == NOVEMBER[0] and m.period_end == NOVEMBER[1] and m.as_of == NOVEMBER[1]


def test_as_dict_has_every_measure(cast, history):
    data = november(region=cast.world.district_a).as_dict()
    assert {*COUNTS, *RATES} <= data.keys()
    assert data["subject"] == {"kind": "region", "id": cast.world.district_a.pk, "code": "219901000000",
                               "name": "甲区"}
    assert data["closed"] == 5 and data["satisfied_rate"] == 0.5 and data["grade"] == "E"


def test_the_city_counts_both_districts_and_has_no_peers(cast, history):
    m = november(region=cast.world.city)
    assert m.counts["reported"] == 11 and m.counts["filed"] == 10 and m.counts["rated"] == 3
    assert m.counts["satisfied"] == 2 and m.counts["closed_on_time"] == 5
    # a root region is its own only peer: having filed anything, its 立案数得分 is 0
    assert (m.peers_filed_max, m.filed_score) == (10, 0.0)


def test_nothing_in_the_period_scores_100(cast, history):
    m = measures_month(actor=None, year=2026, month=12, region=cast.world.district_a,
                       now=dt.datetime(2027, 1, 5, tzinfo=TZ))
    assert set(m.counts.values()) == {0}
    assert set(m.rates.values()) == {None}  # shown as "—", never a division by zero
    assert (m.filed_score, m.score, m.grade) == (1.0, 100.0, "A")  # nothing was due, so nothing failed


def test_rates_with_nothing_due_count_as_one_in_the_score(cast, history):
    m = measures_for(actor=None, region=cast.world.district_a, period_start=MONDAY, period_end=MONDAY + H,
                     now=AFTER)
    # reported at Monday 09:00: every case but the self-handled one and the merged duplicates; filed then: 7
    assert m.counts["reported"] == 9 and m.counts["patrol"] == 1 and m.counts["filed"] == 7
    assert m.counts["due_close"] == 0
    assert m.rates["closed_rate"] is None and m.rates["closed_on_time_rate"] is None
    # 100 × (0.1 × 1/9 + 0.2 × 0 + 0.3 × 1 + 0.4 × 1) = 71.11…
    assert (m.filed_score, m.score, m.grade) == (0.0, 71.1, "C")


def test_closed_without_a_handling_time_counts_as_handled_when_closed(cast, report):
    # The loop always records the feedback before the close; a row written outside it (an import from the old
    # system) may carry only the closing time, which then stands for the handling.
    from yiwang.cases.models import Case

    early, late = (walk_to(cast, report(), Status.CLOSED) for _ in range(2))
    Case.objects.filter(pk=early.pk).update(handled_at=None, closed_at=TUESDAY)
    Case.objects.filter(pk=late.pk).update(handled_at=None, closed_at=TUESDAY + H)
    m = november(region=cast.world.district_a)
    assert (m.counts["handled"], m.counts["handled_on_time"], m.counts["handled_late"]) == (2, 1, 1)


# --- the period ---------------------------------------------------------------------------------------------

def test_a_deadline_at_the_start_counts_and_one_at_the_end_does_not(cast, report):
    first = walk_to(cast, report(), Status.FILED)  # handle by Tuesday 09:00, close by 11:00
    second = walk_to(cast, report(), Status.FILED, now=MONDAY + H)  # handle by Tuesday 10:00, close by 12:00
    assert second.handle_due_at == TUESDAY + H

    def due(start, end, now=AFTER):
        m = measures_for(actor=None, region=cast.world.district_a, period_start=start, period_end=end,
                         now=now)
        return m.counts["due_handle"], m.counts["due_close"]

    assert due(first.handle_due_at, second.handle_due_at) == (1, 0)
    assert due(first.handle_due_at + dt.timedelta(microseconds=1), second.handle_due_at) == (0, 0)
    assert due(first.handle_due_at, second.handle_due_at + dt.timedelta(microseconds=1)) == (2, 0)
    assert due(MONDAY, first.close_due_at) == (2, 0)
    assert due(MONDAY, first.close_due_at + dt.timedelta(microseconds=1)) == (2, 1)
    # the period is cut at now: a deadline still to come is not due yet
    assert due(MONDAY, MONDAY + dt.timedelta(days=7), now=first.handle_due_at) == (0, 0)
    assert due(MONDAY, MONDAY + dt.timedelta(days=7), now=first.handle_due_at + H / 2) == (1, 0)
    assert due(MONDAY + dt.timedelta(days=7), MONDAY + dt.timedelta(days=8), now=MONDAY) == (0, 0)


def test_a_month_is_local(cast, report):
    assert month_bounds(2026, 11) == NOVEMBER
    assert month_bounds(2026, 12) == (AFTER, dt.datetime(2027, 1, 1, tzinfo=TZ))
    # 07:00 on 1 December in Beijing is still 30 November in UTC
    report(now=dt.datetime(2026, 12, 1, 7, 0, tzinfo=TZ))
    later = dt.datetime(2027, 1, 5, tzinfo=TZ)
    district = cast.world.district_a
    assert measures_month(actor=None, year=2026, month=11, region=district, now=later).counts["reported"] == 0
    assert measures_month(actor=None, year=2026, month=12, region=district, now=later).counts["reported"] == 1


def test_a_period_must_be_aware_and_not_empty(cast):
    district = cast.world.district_a
    for start, end in [(MONDAY, MONDAY), (MONDAY, MONDAY - H), (MONDAY.replace(tzinfo=None), MONDAY + H)]:
        with pytest.raises(ValidationFailed) as refused:
            measures_for(actor=None, region=district, period_start=start, period_end=end)
        assert refused.value.code == "period_invalid"
    with pytest.raises(ValidationFailed) as refused:
        measures_month(actor=None, year=2026, month=13, region=district)
    assert refused.value.code == "period_invalid"


def test_exactly_one_subject(cast):
    w = cast.world
    for subject in [{}, {"region": w.district_a, "grid": w.grid_a}, {"grid": w.grid_a, "unit": w.unit_a}]:
        with pytest.raises(ValidationFailed) as refused:
            november(**subject)
        assert refused.value.code == "subject_required"


# --- subjects and their peers -------------------------------------------------------------------------------

def test_region_grid_and_unit_subjects(cast, history):
    w = cast.world
    community = november(region=w.community_a)  # every case of district A but the one in community A2
    assert community.counts["reported"] == 9 and community.counts["filed"] == 8
    street = november(region=w.street_a)
    assert street.counts == DISTRICT_A
    grid = november(grid=w.grid_a)  # community A without the case in grid A2
    assert grid.counts["reported"] == 8 and grid.counts["filed"] == 7 and grid.counts["patrol"] == 2
    assert (grid.subject.kind, grid.subject.code) == ("grid", "219901001001001")
    # unit A led the five dispatched cases (the closed ones keep it), not the self-handled or undispatched
    unit = november(unit=w.unit_a)
    assert unit.counts == {
        "reported": 5, "patrol": 1, "accepted": 5, "filed": 5,
        "due_handle": 5, "handled": 4, "handled_on_time": 3, "handled_late": 1, "extended": 1,
        "due_close": 5, "closed": 4, "closed_on_time": 3, "reworked": 1, "resolved": 3,
        "due_respond": 5, "responded_on_time": 5, "rated": 2, "satisfied": 1,
    }
    assert (unit.subject.kind, unit.subject.code, unit.subject.name) == ("unit", "D-A-CG", "甲区城管局")
    assert november(unit=w.unit_b).counts["closed"] == 1


def test_filed_score_against_sibling_communities_and_grids(cast, history):
    w = cast.world
    community_a, community_a2 = november(region=w.community_a), november(region=w.community_a2)
    assert (community_a.peers_filed_max, community_a.filed_score) == (8, 0.0)
    assert (community_a2.counts["filed"], community_a2.peers_filed_max) == (1, 8)
    assert community_a2.filed_score == 7 / 8
    # community A2: nothing reported on patrol, nothing closed: 100 × 0.2 × 7/8
    assert (community_a2.score, community_a2.grade) == (17.5, "E")
    grid_a, grid_a2 = november(grid=w.grid_a), november(grid=w.grid_a2)
    assert (grid_a.peers_filed_max, grid_a.filed_score) == (7, 0.0)
    assert (grid_a2.counts["filed"], grid_a2.peers_filed_max, grid_a2.filed_score) == (1, 7, 6 / 7)
    assert november(grid=w.grid_b).peers_filed_max == 1  # grid B has no sibling grids with cases


def test_cases_held_above_a_level_are_nobodys_peer(cast, report):
    w = cast.world
    walk_to(cast, report(**IN_A2), Status.FILED)
    for _ in range(2):  # at community A, in no grid
        walk_to(cast, report(lat=None, lon=None, region=w.community_a), Status.FILED)
    for _ in range(4):  # at street A, in no community
        walk_to(cast, report(lat=None, lon=None, region=w.street_a), Status.FILED)
    grid = november(grid=w.grid_a2)
    assert (grid.counts["filed"], grid.peers_filed_max, grid.filed_score) == (1, 1, 0.0)
    community = november(region=w.community_a)
    assert (community.counts["filed"], community.peers_filed_max, community.filed_score) == (3, 3, 0.0)
    assert november(region=w.street_a).counts["filed"] == 7


def test_filed_score_against_units_of_the_same_kind_and_place(cast, report):
    from yiwang.org import services as org
    from yiwang.org.choices import UnitKind

    w = cast.world
    other = org.unit_create(actor=None, code="D-A-HB", name="甲区环保局", kind=UnitKind.DEPARTMENT,
                            region=w.district_a)
    for _ in range(2):
        walk_to(cast, report(), Status.DISPATCHED)  # to unit A
    for unit in (other, cast.street_office):
        filed = walk_to(cast, report(), Status.FILED)
        s.case_dispatch(actor=cast.dispatcher, case=filed, unit=unit, now=MONDAY)
    m = {u.code: november(unit=u) for u in (w.unit_a, other, cast.street_office)}
    assert (m["D-A-CG"].peers_filed_max, m["D-A-CG"].filed_score) == (2, 0.0)
    assert (m["D-A-HB"].counts["filed"], m["D-A-HB"].peers_filed_max, m["D-A-HB"].filed_score) == (1, 2, 0.5)
    # the street office has no peers of its kind at its street
    assert (m["S-A"].counts["filed"], m["S-A"].peers_filed_max, m["S-A"].filed_score) == (1, 1, 0.0)


# --- score and grade ----------------------------------------------------------------------------------------

def test_score_weights_rounding_and_grades():
    all_none = dict.fromkeys(RATES)
    assert area_score(all_none, Fraction(1)) == 100.0
    assert area_score(all_none, Fraction(0)) == 80.0  # only 立案数得分 (20%) fails
    assert area_score({**all_none, "patrol_rate": Fraction(0)}, Fraction(1)) == 90.0
    assert area_score({**all_none, "closed_rate": Fraction(0)}, Fraction(1)) == 70.0
    assert area_score({**all_none, "closed_on_time_rate": Fraction(0)}, Fraction(1)) == 60.0
    # rates outside the score do not move it
    outside = {**all_none, "satisfied_rate": Fraction(0), "handled_rate": Fraction(0)}
    assert area_score(outside, Fraction(1)) == 100.0
    # exactly 1.25 rounds half up to 1.3 (a float round would give 1.2)
    assert area_score({"patrol_rate": Fraction(1, 8), "closed_rate": Fraction(0),
                       "closed_on_time_rate": Fraction(0)}, Fraction(0)) == 1.3
    # exactly 89.95 shows as 90.0, and the grade follows what is shown
    exact = {**all_none, "closed_on_time_rate": Fraction(599, 800)}
    assert area_score(exact, Fraction(1)) == 90.0 and grade_for(area_score(exact, Fraction(1))) == "A"
    grades = [(100, "A"), (90, "A"), (89.9, "B"), (75, "B"), (74.9, "C"), (60, "C"), (59.9, "D"), (40, "D"),
              (39.9, "E"), (0, "E")]
    assert [grade_for(score) for score, _ in grades] == [grade for _, grade in grades]


# --- who may see them ---------------------------------------------------------------------------------------

def test_leaders_see_their_district_and_below_only(cast, history):
    w = cast.world
    for subject in ({"region": w.district_a}, {"region": w.street_a}, {"grid": w.grid_a}, {"unit": w.unit_a}):
        assert november(actor=cast.leader, **subject).counts == november(**subject).counts
    for subject in ({"region": w.city}, {"region": w.district_b}, {"grid": w.grid_b}, {"unit": w.unit_b}):
        with pytest.raises(NotFound):
            november(actor=cast.leader, **subject)
    assert november(actor=cast.leader_b, region=w.district_b).counts["rated"] == 1
    with pytest.raises(NotFound):  # forbidden looks like missing
        november(actor=cast.leader_b, region=w.district_a)


def test_unit_staff_see_their_unit_but_no_region(cast, history):
    w = cast.world
    assert november(actor=cast.unit, unit=w.unit_a).counts["closed"] == 4
    for subject in ({"unit": w.unit_b}, {"region": w.district_a}, {"region": w.community_a},
                    {"grid": w.grid_a}):
        with pytest.raises(NotFound):
            november(actor=cast.unit, **subject)


def test_grid_workers_residents_and_lower_levels(cast, history):
    w = cast.world
    assert november(actor=cast.grid_worker, grid=w.grid_a).counts["reported"] == 8
    for actor, subject in [
        (cast.grid_worker, {"grid": w.grid_a2}), (cast.grid_worker, {"region": w.community_a}),
        (cast.resident, {"region": w.district_a}), (cast.resident, {"grid": w.grid_a}),
        (cast.dispatcher_b, {"unit": w.unit_b}),  # a street's role does not cover its district's department
        (cast.dispatcher, {"region": w.district_a}),  # nor the district itself
    ]:
        with pytest.raises(NotFound):
            november(actor=actor, **subject)
    assert november(actor=cast.dispatcher, region=w.street_a).counts == DISTRICT_A


def test_superuser_and_system_see_everything(cast, history, django_user_model):
    root = django_user_model.objects.create_superuser(username="root", password="pw-Secret-123")
    assert november(actor=root, region=cast.world.city).counts == november(region=cast.world.city).counts


# --- queries ------------------------------------------------------------------------------------------------

def test_two_queries_whatever_the_history(cast, history, django_assert_num_queries):
    w = cast.world
    november(actor=cast.leader, region=w.district_a)  # the leader's grants are read once per request
    for subject in ({"region": w.district_a}, {"region": w.community_a2}, {"grid": w.grid_a},
                    {"unit": w.unit_a}):
        with django_assert_num_queries(2):  # one aggregate, one grouped count of the peers' filings
            november(actor=cast.leader, **subject)
    with django_assert_num_queries(1):  # a root region has no peers to ask about
        november(region=w.city)


# --- the API ------------------------------------------------------------------------------------------------

URL = "/api/v1/measures/"


def test_api_returns_every_field(cast, history, api):
    with clock.frozen(AFTER):
        response = api(cast.leader).get(URL, {"region": "219901000000", "from": "2026-11-01",
                                              "to": "2026-12-01"})
    assert response.status_code == 200, response.content
    data = response.json()
    expected = november(region=cast.world.district_a).as_dict()
    assert data.keys() == expected.keys()
    same = [*COUNTS, *RATES, "score", "grade", "filed_score", "peers_filed_max", "subject"]
    assert {k: data[k] for k in same} == {k: expected[k] for k in same}
    assert data["period_start"] == "2026-11-01T00:00:00+08:00"
    assert data["period_end"] == data["as_of"] == "2026-12-01T00:00:00+08:00"


def test_api_defaults_to_the_current_month_and_takes_grids_and_units(cast, history, api):
    client = api(cast.leader)
    with clock.frozen(MONDAY + dt.timedelta(days=3)):
        data = client.get(URL, {"grid": cast.world.grid_a.pk}).json()
        assert data["period_start"] == "2026-11-01T00:00:00+08:00"
        assert data["as_of"] == "2026-11-26T09:00:00+08:00"  # the month so far
        assert data["subject"]["kind"] == "grid" and data["reported"] == 8
        data = client.get(URL, {"unit": cast.world.unit_a.pk, "from": "2026-11-23"}).json()
        assert data["period_end"] == "2026-12-01T00:00:00+08:00" and data["closed"] == 4


@pytest.mark.parametrize(("params", "status", "code"), [
    ({}, 400, "subject_required"),
    ({"region": "219901000000", "grid": "1"}, 400, "subject_required"),
    ({"grid": "A1"}, 400, "subject_invalid"),
    ({"region": "219901000000", "from": "2026-11-31"}, 400, "date_invalid"),
    ({"region": "219901000000", "from": "2026-11-10", "to": "2026-11-10"}, 400, "date_order"),
    ({"region": "219902000000"}, 404, "not_found"),  # district B: out of the leader's scope
    ({"region": "219999000000"}, 404, "not_found"),  # no such region: the same answer
])
def test_api_errors(cast, api, params, status, code):
    response = api(cast.leader).get(URL, params)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_api_needs_a_login(cast, api):
    assert api().get(URL, {"region": "219901000000"}).status_code == 401


def test_api_unit_staff_get_their_unit_only(cast, history, api):
    client = api(cast.unit)
    assert client.get(URL, {"unit": cast.world.unit_a.pk}).status_code == 200
    assert client.get(URL, {"region": "219901000000"}).status_code == 404
