"""Deadlines on real cases: computed with the working calendar, lights, and the sweep's exactly-once marking
and catch-up after downtime."""

import datetime as dt

import pytest

from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.models import CaseDeadline
from yiwang.cases.selectors import CaseFilters, case_list_for, light_of
from yiwang.cases.tests.conftest import MONDAY, TZ, category, journal
from yiwang.cases.tests.test_loop import walk_to
from yiwang.core.models import AuditEntry
from yiwang.notifications.models import Notification

H = dt.timedelta(hours=1)


def test_handling_deadline_counts_working_days_across_national_day(cast, report):
    # Filed on the afternoon of 30 September 2026, before the National Day holiday; 1 working day to handle.
    filed = dt.datetime(2026, 9, 30, 15, 0, tzinfo=TZ)
    case = report(now=filed - H)
    case = s.case_accept(actor=cast.acceptor, case=case, now=filed)
    case = s.case_file(actor=cast.shift_lead, case=case, now=filed)
    due = case.handle_due_at.astimezone(TZ)
    assert due.date() == dt.date(2026, 10, 8)  # the first working day after the 1–7 October holiday
    assert case.close_due_at > case.handle_due_at


def test_limits_follow_category_and_urgency(cast, report):
    case = walk_to(cast, report(), Status.FILED)  # 暴露垃圾, yellow: 1 working day
    assert case.handle_due_at == MONDAY + dt.timedelta(days=1)
    red = walk_to(cast, report(urgency="red"), Status.FILED)  # a quarter of it: 0.25 working day
    assert MONDAY < red.handle_due_at < MONDAY + dt.timedelta(hours=3)
    manhole = category("C0101")  # 上水井盖: 3 natural hours
    answers = {q["code"]: q["values"][0]["key"] for q in manhole.form_questions if q.get("required")}
    manhole_case = walk_to(cast, report(category=manhole, answers=answers), Status.FILED)
    assert manhole_case.handle_due_at == MONDAY + dt.timedelta(hours=3)


def test_lights_turn_yellow_at_80_percent_and_red_when_overdue(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)  # due Tuesday 09:00, 7.5 working hours
    assert light_of(case, MONDAY + H) == "green"
    assert light_of(case, MONDAY + dt.timedelta(hours=8, minutes=30)) == "yellow"  # Monday 17:30: 7 h passed
    assert light_of(case, MONDAY + dt.timedelta(days=1, minutes=1)) == "red"
    at = MONDAY + dt.timedelta(hours=8, minutes=30)
    yellow = case_list_for(actor=cast.dispatcher, filters=CaseFilters(light="yellow"), now=at)
    assert list(yellow) == [case]
    assert not case_list_for(actor=cast.dispatcher, filters=CaseFilters(light="red"), now=at).exists()


def test_sweep_marks_each_warning_and_breach_exactly_once(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    first = s.deadline_sweep(now=MONDAY + H)
    assert (first.warned, first.breached) == (0, 0)
    warned = s.deadline_sweep(now=MONDAY + dt.timedelta(hours=8, minutes=40))
    assert (warned.warned, warned.breached) == (1, 0)
    again = s.deadline_sweep(now=MONDAY + dt.timedelta(hours=8, minutes=50))
    assert (again.warned, again.breached) == (0, 0)
    breached = s.deadline_sweep(now=MONDAY + dt.timedelta(days=1, hours=1))
    assert (breached.warned, breached.breached) == (0, 1)
    assert s.deadline_sweep(now=MONDAY + dt.timedelta(days=3)).breached == 0
    assert journal(case).count("case.deadline_warning") == 1
    assert journal(case).count("case.deadline_breach") == 1
    kinds = list(Notification.objects.filter(recipient=cast.unit, case=case).values_list("kind", flat=True))
    assert kinds.count("deadline_warning") == 1 and kinds.count("deadline_breach") == 1


def test_sweep_after_downtime_catches_up_in_order(cast, report):
    cases = [walk_to(cast, report(), Status.IN_PROGRESS) for _ in range(3)]
    # The app was down for a week: one sweep finds every warning and breach it missed, warnings first.
    result = s.deadline_sweep(now=MONDAY + dt.timedelta(days=7), batch=2)
    assert (result.warned, result.breached) == (3, 3)
    for case in cases:
        rows = AuditEntry.objects.filter(object_id=str(case.pk), action__startswith="case.deadline_").order_by("id")
        assert [r.action for r in rows] == ["case.deadline_warning", "case.deadline_breach"]
        # the journal says when each happened, not only when the sweep noticed
        assert rows[1].after["at"] == case.due_at.isoformat()


def test_breach_policy_escalates_a_red_case_waiting_at_its_level(cast, report):
    case = walk_to(cast, report(urgency="red"), Status.FILED)  # nobody dispatched it
    result = s.deadline_sweep(now=MONDAY + dt.timedelta(days=2))
    case.refresh_from_db()
    assert result.escalated == 1 and case.level == cast.world.street_a and case.escalation_count == 1
    entry = AuditEntry.objects.filter(object_id=str(case.pk), action="case.deadline_breach").get()
    assert entry.actor is None and entry.after["policy"] == "escalated"


def test_breach_policy_supervises_a_yellow_case_with_a_unit(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    s.deadline_sweep(now=MONDAY + dt.timedelta(days=2))
    case.refresh_from_db()
    assert case.supervised and case.level == cast.world.community_a
    assert Notification.objects.filter(recipient=cast.leader, case=case, kind="deadline_breach").exists()


def test_parked_case_is_not_swept_and_moved_deadline_warns_again(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    s.case_park(actor=cast.shift_lead, case=case, reason="疑难", now=MONDAY + H)
    assert s.deadline_sweep(now=MONDAY + dt.timedelta(days=5)).breached == 0
    case = s.case_resume(actor=cast.shift_lead, case=case, now=MONDAY + dt.timedelta(days=7))
    assert s.deadline_sweep(now=MONDAY + dt.timedelta(days=9)).breached == 1
    s.case_supervise(actor=cast.leader, case=case, action="deadline", due_at=MONDAY + dt.timedelta(days=10),
                     now=MONDAY + dt.timedelta(days=9))
    assert s.deadline_sweep(now=MONDAY + dt.timedelta(days=11)).breached == 1  # the new deadline breached too
    row = CaseDeadline.objects.get(case=case, ended_at__isnull=True)
    assert row.breached_at == MONDAY + dt.timedelta(days=11)


def test_sweep_command_and_task_run(cast, report):
    from django.core.management import call_command

    from yiwang.cases.tasks import sweep_deadlines

    walk_to(cast, report(now=MONDAY - dt.timedelta(days=30)), Status.IN_PROGRESS,
            now=MONDAY - dt.timedelta(days=30))
    assert sweep_deadlines.call_local()["breached"] == 1
    call_command("sweep_deadlines")  # nothing left to mark
    assert AuditEntry.objects.filter(action="case.deadline_breach").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_mark_once(cast, report):
    """Two workers sweeping at the same moment (PostgreSQL: real concurrent transactions)."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    cases = [walk_to(cast, report(), Status.IN_PROGRESS) for _ in range(6)]
    results, barrier = [], threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            results.append(s.deadline_sweep(now=MONDAY + dt.timedelta(days=3)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.breached for r in results) == 6 and sum(r.warned for r in results) == 6
    for case in cases:
        assert journal(case).count("case.deadline_breach") == 1
