"""Who may take each step, and where: the right role in the right scope may; the next street, the next grid,
another unit, another district and the wrong role may not — and a refusal changes nothing."""

import datetime as dt

import pytest

from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.tests.conftest import MONDAY, fix_photo
from yiwang.cases.tests.test_loop import walk_to
from yiwang.core.errors import NotFound, PermissionRefused
from yiwang.core.models import AuditEntry


def at(status):
    def prepare(cast, report):
        return walk_to(cast, report(), status)
    return prepare


def parked(cast, report):
    return s.case_park(actor=cast.shift_lead, case=at(Status.IN_PROGRESS)(cast, report), reason="疑难", now=MONDAY)


def pending_extension(cast, report):
    case = at(Status.IN_PROGRESS)(cast, report)
    s.case_extend(actor=cast.unit, case=case, amount=1, unit="working_days", reason="等待材料", now=MONDAY)
    return case


def unsatisfied(cast, report):
    case = at(Status.CLOSED)(cast, report)
    return s.case_rate(actor=cast.resident, case=case, rating="unsatisfied", now=MONDAY)


def hotline_closed(cast, report):
    case = report(actor=cast.acceptor, channel="hotline", reporter_name="张先生", reporter_phone="13812345678")
    return walk_to(cast, case, Status.CLOSED)


def patrol_report(cast, report):
    return report(actor=cast.grid_worker, channel="patrol")


NOTE = {"reason": "理由"}
FIX = {"result": "已现场处理", "attachments": fix_photo()}  # a fix on the spot shows its result
# verb: (prepare, service, kwargs, who may, [(who may not, the refusal)])
MATRIX = {
    "accept": (at(Status.REPORTED), "case_accept", {}, "acceptor",
               [("dispatcher_b", NotFound), ("unit", NotFound), ("leader", PermissionRefused),
                ("grid_worker", PermissionRefused), ("resident", PermissionRefused), ("resident2", NotFound)]),
    "reject": (at(Status.REPORTED), "case_reject", NOTE, "acceptor",
               [("dispatcher_b", NotFound), ("dispatcher", PermissionRefused), ("resident", PermissionRefused)]),
    "file": (at(Status.ACCEPTED), "case_file", {}, "shift_lead",
             [("acceptor", PermissionRefused), ("dispatcher_b", NotFound), ("leader", PermissionRefused)]),
    "dispatch": (at(Status.FILED), "case_dispatch", {"unit": "unit_a"}, "dispatcher",
                 [("dispatcher_b", NotFound), ("acceptor", PermissionRefused), ("unit", NotFound),
                  ("leader", PermissionRefused)]),
    "sign": (at(Status.DISPATCHED), "case_sign", {}, "unit",
             [("unit_b", NotFound), ("dispatcher", PermissionRefused), ("grid_worker", PermissionRefused)]),
    "return": (at(Status.DISPATCHED), "case_return", NOTE, "unit",
               [("unit_b", NotFound), ("dispatcher", PermissionRefused)]),
    "feedback": (at(Status.IN_PROGRESS), "case_feedback", {"result": "已处理"}, "unit",
                 [("unit_b", NotFound), ("grid_worker", PermissionRefused), ("dispatcher", PermissionRefused)]),
    "verify": (at(Status.HANDLED), "case_verify", {}, "grid_worker",
               [("grid_worker2", NotFound), ("unit", PermissionRefused), ("dispatcher", PermissionRefused),
                ("resident", PermissionRefused)]),
    "rework": (at(Status.HANDLED), "case_rework", NOTE, "grid_worker",
               [("grid_worker2", NotFound), ("unit", PermissionRefused)]),
    "rate": (at(Status.CLOSED), "case_rate", {"rating": "satisfied"}, "resident",
             [("resident2", NotFound), ("grid_worker", PermissionRefused), ("leader", PermissionRefused)]),
    "reopen": (unsatisfied, "case_reopen", NOTE, "shift_lead",
               [("resident", PermissionRefused), ("dispatcher_b", NotFound), ("acceptor", PermissionRefused)]),
    "reopen_deny": (unsatisfied, "case_reopen_deny", NOTE, "shift_lead",
                    [("resident", PermissionRefused), ("dispatcher_b", NotFound), ("acceptor", PermissionRefused)]),
    "rate_callback": (hotline_closed, "case_rate_callback", {"rating": "satisfied"}, "acceptor",
                      [("unit", PermissionRefused), ("dispatcher_b", NotFound), ("resident", NotFound),
                       ("grid_worker", PermissionRefused)]),
    "self_handle": (patrol_report, "case_self_handle", FIX, "grid_worker",
                    [("grid_worker2", NotFound), ("community", PermissionRefused), ("resident", NotFound)]),
    "escalate": (at(Status.DISPATCHED), "case_escalate", NOTE, "unit",
                 [("unit_b", NotFound), ("leader", PermissionRefused), ("grid_worker", PermissionRefused)]),
    "extend": (at(Status.IN_PROGRESS), "case_extend", {"amount": 1, "unit": "working_days", **NOTE}, "unit",
               [("unit_b", NotFound), ("dispatcher", PermissionRefused)]),
    "approve_extension": (pending_extension, "case_decide_extension", {"approve": True}, "dispatcher",
                          [("unit", PermissionRefused), ("dispatcher_b", NotFound), ("leader", PermissionRefused)]),
    "park": (at(Status.IN_PROGRESS), "case_park", NOTE, "shift_lead",
             [("dispatcher", PermissionRefused), ("unit", PermissionRefused), ("dispatcher_b", NotFound)]),
    "resume": (parked, "case_resume", {}, "shift_lead", [("dispatcher", PermissionRefused), ("unit_b", NotFound)]),
    "void": (at(Status.FILED), "case_void", NOTE, "shift_lead",
             [("acceptor", PermissionRefused), ("dispatcher_b", NotFound), ("leader", PermissionRefused)]),
    "supervise": (at(Status.IN_PROGRESS), "case_supervise", {"action": "urge", "note": "请加快"}, "leader",
                  [("leader_b", NotFound), ("dispatcher", PermissionRefused), ("unit", PermissionRefused)]),
}


def _kwargs(cast, kwargs):
    return {k: (cast.world.unit_a if v == "unit_a" else v) for k, v in kwargs.items()}


@pytest.mark.parametrize("verb", list(MATRIX))
def test_denied_actors_change_nothing_and_the_right_one_may(cast, report, media, verb):
    from yiwang.cases.models import Case

    prepare, service, kwargs, allowed, denied = MATRIX[verb]
    case = prepare(cast, report)
    before = Case.objects.filter(pk=case.pk).values().get()
    entries = AuditEntry.objects.count()
    for who, refusal in denied:
        with pytest.raises(refusal):
            getattr(s, service)(actor=getattr(cast, who), case=case, now=MONDAY + dt.timedelta(hours=1),
                                **_kwargs(cast, kwargs))
        assert Case.objects.filter(pk=case.pk).values().get() == before, who
        assert AuditEntry.objects.count() == entries, who
    getattr(s, service)(actor=getattr(cast, allowed), case=case, now=MONDAY + dt.timedelta(hours=1),
                        **_kwargs(cast, kwargs))
    assert AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).latest("id").action \
        == f"case.{verb}"


def test_every_verb_of_the_table_is_in_the_matrix():
    from yiwang.cases.policies import TRANSITIONS

    assert set(TRANSITIONS) - {"merge"} == set(MATRIX)


def test_merge_needs_the_desk_and_a_visible_target(cast, report):
    target = walk_to(cast, report(), Status.FILED)
    case = report()
    with pytest.raises(PermissionRefused):
        s.case_merge(actor=cast.dispatcher, case=case, into=target, now=MONDAY)
    with pytest.raises(NotFound):
        s.case_merge(actor=cast.dispatcher_b, case=case, into=target, now=MONDAY)
    assert s.case_merge(actor=cast.acceptor, case=case, into=target, now=MONDAY).status == Status.MERGED


def test_lists_are_scoped(cast, report):
    from yiwang.cases.selectors import case_list_for
    from yiwang.cases.tests.conftest import IN_B

    mine = walk_to(cast, report(), Status.DISPATCHED)
    other = report(actor=cast.resident2, **IN_B)
    assert set(case_list_for(actor=cast.dispatcher)) == {mine}
    assert set(case_list_for(actor=cast.dispatcher_b)) == {other}
    assert set(case_list_for(actor=cast.unit)) == {mine}
    assert set(case_list_for(actor=cast.unit_b)) == set()
    assert set(case_list_for(actor=cast.resident)) == {mine}
    assert set(case_list_for(actor=cast.resident2)) == {other}
    assert set(case_list_for(actor=cast.grid_worker2)) == set()
