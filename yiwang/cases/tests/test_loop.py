"""The loop through the services against a real database: every verb, the journal it writes, what the reporter
reads, and the side paths."""

import datetime as dt
import re

import pytest

from yiwang.accounts.models import Role, User
from yiwang.accounts.services import role_assign
from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseDeadline, CaseHandler
from yiwang.cases.selectors import case_timeline, light_of
from yiwang.cases.tests.conftest import IN_B, MONDAY, journal
from yiwang.core.errors import DomainError, NotFound, PermissionRefused, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.core.services import audit_write
from yiwang.notifications.models import Notification

H = dt.timedelta(hours=1)


def walk_to(cast, case, status, now=MONDAY):
    """Move a fresh report along the main path up to `status`."""
    steps = [
        (Status.ACCEPTED, lambda c: s.case_accept(actor=cast.acceptor, case=c, now=now)),
        (Status.FILED, lambda c: s.case_file(actor=cast.shift_lead, case=c, now=now)),
        (Status.DISPATCHED, lambda c: s.case_dispatch(actor=cast.dispatcher, case=c, unit=cast.world.unit_a, now=now)),
        (Status.IN_PROGRESS, lambda c: s.case_sign(actor=cast.unit, case=c, now=now)),
        (Status.HANDLED, lambda c: s.case_feedback(actor=cast.unit, case=c, result="已清运", now=now)),
        (Status.CLOSED, lambda c: s.case_verify(actor=cast.grid_worker, case=c, now=now)),
        (Status.RATED, lambda c: s.case_rate(actor=cast.resident, case=c, rating="satisfied", now=now)),
    ]
    for target, step in steps:
        if case.status == status:
            break
        case = step(case)
        assert case.status == target
    return case


def test_report_is_located_numbered_and_journaled(cast, report):
    case = report()
    assert case.status == Status.REPORTED
    assert case.grid == cast.world.grid_a and case.region == cast.world.community_a
    assert case.level == cast.world.community_a and case.region_path == cast.world.grid_a.path
    assert re.fullmatch(r"YW20261123-\d{6}", case.number)
    assert case.reporter == cast.resident and case.reporter_phone == "13900000000"
    assert case.respond_due_at > MONDAY and case.due_at == case.respond_due_at
    entry = AuditEntry.objects.get(object_type="cases.case", object_id=str(case.pk))
    assert entry.action == "case.report" and entry.actor == cast.resident
    assert entry.after["reporter_phone"] == "139****0000"  # the journal keeps no phone in the clear
    assert entry.after["status"] == Status.REPORTED and entry.before is None


def test_numbers_run_per_day(cast, report):
    first, second = report(), report()
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1
    tomorrow = report(now=MONDAY + dt.timedelta(days=1))
    assert tomorrow.number == "YW20261124-000001"


def test_report_outside_every_grid_is_refused_and_nothing_written(cast, report):
    before = (Case.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        report(lat=10.0, lon=10.0)
    assert refused.value.code == "outside_area"
    with pytest.raises(ValidationFailed) as refused:
        report(description="  ")
    assert refused.value.code == "description_required"
    assert (Case.objects.count(), AuditEntry.objects.count()) == before


def test_staff_report_only_where_they_work(cast, report):
    assert report(actor=cast.grid_worker, channel="patrol").status == Status.REPORTED
    with pytest.raises(PermissionRefused) as refused:
        report(actor=cast.grid_worker, channel="patrol", **IN_B)
    assert refused.value.code == "out_of_scope"
    with pytest.raises(PermissionRefused):
        report(actor=cast.leader)  # a leader holds no reporting role


def test_the_main_path_from_report_to_rating(cast, report):
    case = report()
    case = walk_to(cast, case, Status.RATED)
    assert journal(case) == ["case.report", "case.accept", "case.file", "case.dispatch", "case.sign",
                             "case.feedback", "case.verify", "case.rate"]
    case.refresh_from_db()
    assert case.rating == "satisfied" and case.closed_at == MONDAY and case.due_at is None
    assert case.routing["suggested_unit"] == cast.world.unit_a.pk and case.routing["matched"] == "fallback"
    assert case.routing["final_unit"] == cast.world.unit_a.pk and case.routing["overridden"] is False
    # every step's journal row names the state before and after
    steps = AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).order_by("id")
    statuses = [(e.before or {}).get("status") for e in steps][1:]
    assert statuses == ["reported", "accepted", "filed", "dispatched", "in_progress", "handled", "closed"]
    dispatch = steps.get(action="case.dispatch")
    assert dispatch.actor_roles and dispatch.actor_name == "dispatcher_a"
    # the reporter's public timeline: plain words, no staff names
    timeline = case_timeline(actor=cast.resident, case=case)
    assert [t.action for t in timeline] == ["report", "accept", "file", "dispatch", "sign", "feedback", "verify",
                                            "rate"]
    assert all(t.actor == "" for t in timeline)
    assert "甲区城管局" in timeline[3].text
    # the reporter was told along the way
    kinds = set(Notification.objects.filter(recipient=cast.resident).values_list("kind", flat=True))
    assert {"case_accepted", "case_closed"} <= kinds
    assert Notification.objects.filter(recipient=cast.unit, kind="case_dispatched").exists()


def test_staff_timeline_shows_every_step_with_names(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    s.case_extend(actor=cast.unit, case=case, amount=2, unit="working_hours", reason="需要协调", now=MONDAY)
    staff = case_timeline(actor=cast.dispatcher, case=case)
    assert staff[-1].action == "extend" and staff[-1].actor == "测试（unit_a）"
    assert "extend" not in [t.action for t in case_timeline(actor=cast.resident, case=case)]


def test_staff_timeline_names_the_reporter_by_role_not_by_a_user_name_holding_their_phone(cast, report):
    """A resident who signed in by phone is user m138…: staff who may not see the reporter's contact must not
    read it off the timeline. The system's own steps name no one."""
    cast.resident.username = "m13812345678"
    cast.resident.save()
    case = report()
    other = User.objects.create(username="m13900001111", phone="13900001111")
    role_assign(actor=None, user=other, role=Role.objects.get(code="resident"), valid_from=dt.date(2020, 1, 1))
    audit_write(actor=other, action="case.comment", obj=case)
    audit_write(actor=None, action="case.warn", obj=case)
    staff = case_timeline(actor=cast.dispatcher, case=case)
    assert [(t.action, t.actor) for t in staff] == [("report", "报告人"), ("comment", "群众"),
                                                    ("warn", "")]
    assert not any("138" in t.actor or "139" in t.actor for t in staff)


ILLEGAL = [  # on a case dispatched to unit A, not yet signed for
    ("case_accept", "acceptor", {}),
    ("case_file", "shift_lead", {}),
    ("case_feedback", "unit", {"result": "x"}),
    ("case_verify", "grid_worker", {}),
    ("case_rate", "resident", {"rating": "satisfied"}),
    ("case_resume", "shift_lead", {}),
    ("case_reopen", "shift_lead", {"reason": "x"}),
]


@pytest.mark.parametrize(("service", "who", "kwargs"), ILLEGAL)
def test_illegal_transitions_change_nothing(cast, report, service, who, kwargs):
    case = walk_to(cast, report(), Status.DISPATCHED)
    entries = AuditEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        getattr(s, service)(actor=getattr(cast, who), case=case, now=MONDAY, **kwargs)
    assert refused.value.code == "invalid_transition" and refused.value.status == 409
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and AuditEntry.objects.count() == entries


def test_reject_needs_a_reason_and_tells_the_reporter(cast, report):
    case = report()
    with pytest.raises(ValidationFailed) as refused:
        s.case_reject(actor=cast.acceptor, case=case, reason=" ", now=MONDAY)
    assert refused.value.code == "reason_required"
    case = s.case_reject(actor=cast.acceptor, case=case, reason="不属于受理范围", now=MONDAY)
    assert case.status == Status.REJECTED and case.ended_at == MONDAY and case.due_at is None
    assert Notification.objects.filter(recipient=cast.resident, kind="case_rejected").exists()
    assert "不属于受理范围" in case_timeline(actor=cast.resident, case=case)[-1].text


def test_merged_duplicate_follows_its_parent_to_the_end(cast, report):
    parent = walk_to(cast, report(), Status.DISPATCHED)
    child = report(actor=cast.resident2, now=MONDAY + H)
    child = s.case_merge(actor=cast.acceptor, case=child, into=parent, now=MONDAY + H)
    assert child.status == Status.MERGED and child.parent == parent
    with pytest.raises(ValidationFailed):  # not into itself, not into a merged case
        s.case_merge(actor=cast.acceptor, case=report(), into=child, now=MONDAY)
    parent = s.case_sign(actor=cast.unit, case=parent, now=MONDAY + 2 * H)
    parent = s.case_feedback(actor=cast.unit, case=parent, result="垃圾已清运", now=MONDAY + 3 * H)
    s.case_verify(actor=cast.grid_worker, case=parent, now=MONDAY + 4 * H)
    child.refresh_from_db()
    assert child.status == Status.CLOSED and child.result == "垃圾已清运"
    assert journal(child)[-1] == "case.outcome_from_parent"
    assert Notification.objects.filter(recipient=cast.resident2, kind="case_closed").exists()
    texts = [t.text for t in case_timeline(actor=cast.resident2, case=child)]
    assert any(parent.number in t for t in texts) and any("垃圾已清运" in t for t in texts)
    # each reporter rates their own report
    assert s.case_rate(actor=cast.resident2, case=child, rating="basically_satisfied", now=MONDAY + 5 * H).status \
        == Status.RATED


def test_return_and_redispatch(cast, report):
    case = walk_to(cast, report(), Status.DISPATCHED)
    with pytest.raises(ValidationFailed):
        s.case_return(actor=cast.unit, case=case, reason="", now=MONDAY)
    case = s.case_return(actor=cast.unit, case=case, reason="不属于本单位职责", now=MONDAY + H)
    assert case.status == Status.RETURNED and case.lead_unit is None and case.return_count == 1
    assert Notification.objects.filter(recipient=cast.dispatcher, kind="case_returned").exists()
    with pytest.raises(PermissionRefused):  # the unit no longer holds it
        s.case_sign(actor=cast.unit, case=case, now=MONDAY + H)
    case = s.case_dispatch(actor=cast.dispatcher, case=case, unit=cast.street_office,
                           assisting=[cast.world.unit_a], now=MONDAY + 2 * H)
    assert case.routing["overridden"] is True
    handlers = list(CaseHandler.objects.filter(case=case).values_list("unit__code", "role", "end_reason"))
    assert handlers == [("D-A-CG", "lead", "returned"), ("S-A", "lead", ""), ("D-A-CG", "assist", "")]


def test_dispatch_to_a_unit_of_another_district_is_refused(cast, report):
    case = walk_to(cast, report(), Status.FILED)
    with pytest.raises(ValidationFailed) as refused:
        s.case_dispatch(actor=cast.dispatcher, case=case, unit=cast.world.unit_b, now=MONDAY)
    assert refused.value.code == "unit_out_of_reach"
    case.refresh_from_db()
    assert case.status == Status.FILED and not CaseHandler.objects.filter(case=case).exists()


def test_rework_keeps_the_measured_deadline(cast, report):
    case = walk_to(cast, report(), Status.HANDLED)
    handle_due = case.handle_due_at
    case = s.case_rework(actor=cast.grid_worker, case=case, reason="仍有残留", now=MONDAY + H)
    assert case.status == Status.IN_PROGRESS and case.rework_count == 1
    assert case.handle_due_at == handle_due and case.due_at > MONDAY + H
    assert Notification.objects.filter(recipient=cast.unit, kind="case_rework").exists()


def test_unsatisfied_rating_reopens_only_with_approval(cast, report):
    case = walk_to(cast, report(), Status.CLOSED)
    case = s.case_rate(actor=cast.resident, case=case, rating="unsatisfied", comment="没清干净", now=MONDAY + H)
    assert case.status == Status.RATED and case.reopen_requested
    with pytest.raises(PermissionRefused):  # the reporter asks; the level approves
        s.case_reopen(actor=cast.resident, case=case, reason="x", now=MONDAY + H)
    case = s.case_reopen(actor=cast.shift_lead, case=case, reason="群众不满意，重办", now=MONDAY + 2 * H)
    assert case.status == Status.DISPATCHED and case.lead_unit == cast.world.unit_a and case.reopen_count == 1
    assert case.closed_at is None and not case.reopen_requested
    satisfied = walk_to(cast, report(), Status.RATED)
    with pytest.raises(DomainError) as refused:
        s.case_reopen(actor=cast.shift_lead, case=satisfied, reason="x", now=MONDAY)
    assert refused.value.code == "not_unsatisfied"


def test_only_the_reporter_rates(cast, report):
    case = walk_to(cast, report(), Status.CLOSED)
    with pytest.raises(NotFound):  # another resident cannot even see it
        s.case_rate(actor=cast.resident2, case=case, rating="satisfied", now=MONDAY)
    with pytest.raises(PermissionRefused):
        s.case_rate(actor=cast.grid_worker, case=case, rating="satisfied", now=MONDAY)
    with pytest.raises(ValidationFailed):
        s.case_rate(actor=cast.resident, case=case, rating="great", now=MONDAY)


def test_self_handled_needs_someone_elses_check(cast, report, after_photo):
    case = report(actor=cast.grid_worker, channel="patrol")
    case = s.case_self_handle(actor=cast.grid_worker, case=case, result="已现场清理", attachments=after_photo,
                              now=MONDAY + H)
    assert case.status == Status.HANDLED and case.self_handled
    assert case.filed_at == case.handled_at == MONDAY + H and case.handle_due_at == MONDAY + H
    with pytest.raises(PermissionRefused) as refused:
        s.case_verify(actor=cast.grid_worker, case=case, now=MONDAY + H)
    assert refused.value.code == "self_verification"
    with pytest.raises(NotFound):  # a grid worker of the next grid does not even see it
        s.case_verify(actor=cast.grid_worker2, case=case, now=MONDAY + H)
    case = s.case_verify(actor=cast.community, case=case, now=MONDAY + 2 * H)
    assert case.status == Status.CLOSED
    assert journal(case) == ["case.report", "case.self_handle", "case.verify"]


def test_self_handled_that_fails_the_check_goes_to_dispatch(cast, report, after_photo):
    case = report(actor=cast.grid_worker, channel="patrol")
    case = s.case_self_handle(actor=cast.grid_worker, case=case, result="已处理", attachments=after_photo, now=MONDAY)
    case = s.case_rework(actor=cast.community, case=case, reason="没有处理好", now=MONDAY + H)
    assert case.status == Status.FILED and case.lead_unit is None


def test_a_fix_on_the_spot_without_a_photo_or_video_is_refused_and_changes_nothing(cast, report, media):
    from django.utils import translation

    case = report(actor=cast.grid_worker, channel="patrol")
    before = Case.objects.filter(pk=case.pk).values().get()
    entries = AuditEntry.objects.count()
    for attachments in ([], iter(())):  # nothing sent, or an empty stream of files
        with translation.override("zh-hans"), pytest.raises(ValidationFailed) as refused:
            s.case_self_handle(actor=cast.grid_worker, case=case, result="已现场清理", attachments=attachments,
                               now=MONDAY + H)
        assert refused.value.code == "photo_required" and refused.value.status == 400
        assert refused.value.fields == {"attachments": ["请上传处置后的照片或视频。"]}
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:  # no attachments at all
        s.case_self_handle(actor=cast.grid_worker, case=case, result="已现场清理", now=MONDAY + H)
    assert refused.value.code == "photo_required"
    assert str(refused.value.message) == "Add a photo or a video of the result."
    assert Case.objects.filter(pk=case.pk).values().get() == before  # still reported, not self-handled
    assert AuditEntry.objects.count() == entries and journal(case) == ["case.report"]
    assert not case.attachments.exists()


def test_a_video_of_the_result_is_evidence_enough_for_a_fix_on_the_spot(cast, report, media):
    from yiwang.media.tests import files

    case = report(actor=cast.grid_worker, channel="patrol")
    clip = s.Upload(name="fix.mp4", content=files.video(seconds=1, size=(160, 120)))
    case = s.case_self_handle(actor=cast.grid_worker, case=case, result="已现场清理", attachments=[clip],
                              now=MONDAY + H)
    assert case.status == Status.HANDLED and case.self_handled
    assert list(case.attachments.filter(action="self_handle").values_list("kind", flat=True)) == ["video"]
    assert journal(case) == ["case.report", "case.self_handle"]


def test_escalation_moves_the_case_up_and_out_of_the_street_desk(cast, report):
    case = walk_to(cast, report(), Status.DISPATCHED)
    case = s.case_escalate(actor=cast.unit, case=case, reason="需要区级协调", now=MONDAY + H)
    assert case.status == Status.FILED and case.level == cast.world.street_a and case.escalation_count == 1
    case = s.case_escalate(actor=cast.dispatcher, case=case, reason="街道吹哨", now=MONDAY + 2 * H)
    assert case.level == cast.world.district_a and case.escalation_count == 2
    assert Notification.objects.filter(recipient=cast.district_dispatcher, kind="case_escalated").exists()
    with pytest.raises(PermissionRefused):  # the street still sees it, but the district holds it now
        s.case_dispatch(actor=cast.dispatcher, case=case, unit=cast.world.unit_a, now=MONDAY + 3 * H)
    case = s.case_dispatch(actor=cast.district_dispatcher, case=case, unit=cast.world.unit_a, now=MONDAY + 3 * H)
    assert case.status == Status.DISPATCHED
    assert journal(case).count("case.escalate") == 2
    assert "甲区" in case_timeline(actor=cast.resident, case=case)[-2].text


def test_park_pauses_the_clock_and_resume_restarts_it(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    due = case.due_at  # 1 working day from Monday 09:00 → Tuesday 09:00
    case = s.case_park(actor=cast.shift_lead, case=case, reason="涉及历史遗留问题", now=MONDAY + H)
    assert case.status == Status.PARKED and case.due_at is None and light_of(case, MONDAY) is None
    case = s.case_resume(actor=cast.shift_lead, case=case, now=MONDAY + dt.timedelta(days=7, hours=1))
    assert case.status == Status.IN_PROGRESS
    assert case.due_at == due + dt.timedelta(days=7)  # the paused week did not count
    assert case.handle_due_at == case.due_at


def test_extension_request_and_decision(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    due = case.due_at
    s.case_extend(actor=cast.unit, case=case, amount=1, unit="working_days", reason="材料未到", now=MONDAY + H)
    with pytest.raises(DomainError) as refused:
        s.case_extend(actor=cast.unit, case=case, amount=1, unit="working_days", reason="again", now=MONDAY + H)
    assert refused.value.code == "extension_pending"
    with pytest.raises(PermissionRefused):
        s.case_decide_extension(actor=cast.unit, case=case, approve=True, now=MONDAY + H)
    decided = s.case_decide_extension(actor=cast.dispatcher, case=case, approve=True, note="同意", now=MONDAY + 2 * H)
    case.refresh_from_db()
    assert decided.decision == "approved" and case.extension_count == 1
    assert case.due_at == due + dt.timedelta(days=1) and case.handle_due_at == case.due_at
    s.case_extend(actor=cast.unit, case=case, amount=4, unit="working_hours", reason="再延", now=MONDAY + 3 * H)
    denied = s.case_decide_extension(actor=cast.dispatcher, case=case, approve=False, now=MONDAY + 3 * H)
    case.refresh_from_db()
    assert denied.decision == "denied" and case.extension_count == 1 and case.due_at == due + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed):
        s.case_extend(actor=cast.unit, case=case, amount=-1, unit="working_days", reason="x", now=MONDAY)


def test_supervision_flags_urges_and_sets_a_deadline(cast, report):
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    s.case_supervise(actor=cast.leader, case=case, action="flag", note="重点关注", now=MONDAY)
    s.case_supervise(actor=cast.leader, case=case, action="urge", note="尽快处理", now=MONDAY)
    assert Notification.objects.filter(recipient=cast.unit, kind="case_urged").exists()
    new_due = MONDAY + 3 * H
    s.case_supervise(actor=cast.leader, case=case, action="deadline", due_at=new_due, now=MONDAY)
    case.refresh_from_db()
    assert case.supervised and case.due_at == new_due and case.handle_due_at == new_due
    with pytest.raises(ValidationFailed):
        s.case_supervise(actor=cast.leader, case=case, action="deadline", due_at=MONDAY - H, now=MONDAY)
    with pytest.raises(NotFound):  # district B's leader cannot see district A's case
        s.case_supervise(actor=cast.leader_b, case=case, action="flag", now=MONDAY)


def test_void_needs_the_shift_lead(cast, report):
    case = walk_to(cast, report(), Status.DISPATCHED)
    with pytest.raises(PermissionRefused):
        s.case_void(actor=cast.dispatcher, case=case, reason="重复", now=MONDAY)
    case = s.case_void(actor=cast.shift_lead, case=case, reason="重复上报", now=MONDAY)
    assert case.status == Status.VOIDED and case.lead_unit == cast.world.unit_a  # kept for the record
    assert not CaseDeadline.objects.filter(case=case, ended_at__isnull=True).exists()


def test_attachments_are_sniffed_and_stored(cast, report, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from yiwang.media.tests import files

    jpeg = s.Upload(name="现场.png", content=files.jpeg())  # a JPEG whatever its name says
    case = report(attachments=[jpeg])
    attachment = case.attachments.get()
    assert attachment.content_type == "image/jpeg" and attachment.file.name.endswith(".jpg")
    assert (tmp_path / attachment.file.name).read_bytes()[:3] == b"\xff\xd8\xff"  # re-encoded (yiwang/media)
    count = Case.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        report(attachments=[jpeg, s.Upload(name="photo.jpg", content=b"MZ\x90\x00 not a photo")])
    assert refused.value.code == "attachment_type"
    assert Case.objects.count() == count  # nothing half-saved


def test_no_merging_into_a_closed_case(cast, report):
    closed = walk_to(cast, report(), Status.CLOSED)
    with pytest.raises(ValidationFailed) as refused:
        s.case_merge(actor=cast.acceptor, case=report(), into=closed, now=MONDAY)
    assert refused.value.code == "merge_target_invalid"


def test_an_external_reference_comes_in_once_per_channel(cast, report):
    report(actor=cast.acceptor, channel="hotline", external_ref="12345-2026-000001", reporter_name="张先生")
    count = Case.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        report(actor=cast.acceptor, channel="hotline", external_ref="12345-2026-000001")
    assert refused.value.code == "external_ref_taken" and Case.objects.count() == count
    report(actor=cast.acceptor, channel="department", external_ref="12345-2026-000001")  # another system's number


def test_an_escalated_case_keeps_its_full_timeline_for_the_staff_below(cast, report):
    """Escalation hands the case to the street; the community staff and grid worker where it happened still
    follow every step with names, and the reporter still reads only the plain public steps."""
    case = walk_to(cast, report(), Status.FILED)
    case = s.case_escalate(actor=cast.shift_lead, case=case, reason="需街道协调", now=MONDAY)
    assert case.level == cast.world.street_a
    for staff in (cast.community, cast.grid_worker):
        steps = case_timeline(actor=staff, case=case)
        assert [t.action for t in steps][-1] == "escalate" and steps[-1].actor == "测试（shift_a）"
    assert all(t.actor == "" for t in case_timeline(actor=cast.resident, case=case))


def test_the_leader_may_turn_down_a_reopening_and_the_reporter_reads_why(cast, report):
    case = walk_to(cast, report(), Status.CLOSED)
    case = s.case_rate(actor=cast.resident, case=case, rating="unsatisfied", comment="还有垃圾", now=MONDAY + H)
    with pytest.raises(ValidationFailed):  # a reason is required
        s.case_reopen_deny(actor=cast.shift_lead, case=case, reason=" ", now=MONDAY + 2 * H)
    with pytest.raises(PermissionRefused):
        s.case_reopen_deny(actor=cast.resident, case=case, reason="x", now=MONDAY + 2 * H)
    case = s.case_reopen_deny(actor=cast.shift_lead, case=case, reason="现场已核实清理完毕", now=MONDAY + 2 * H)
    assert case.status == Status.RATED and not case.reopen_requested and case.reopen_count == 0
    assert "现场已核实清理完毕" in case_timeline(actor=cast.resident, case=case)[-1].text
    assert Notification.objects.filter(recipient=cast.resident, kind="case_reopen_denied").exists()
    with pytest.raises(DomainError) as refused:  # nothing left to decide
        s.case_reopen_deny(actor=cast.shift_lead, case=case, reason="x", now=MONDAY + 3 * H)
    assert refused.value.code == "not_unsatisfied"


def test_a_hotline_case_is_rated_by_the_desk_on_a_return_call(cast, report):
    hotline = walk_to(cast, report(actor=cast.acceptor, channel="hotline", reporter_name="张先生",
                                   reporter_phone="13812345678"), Status.CLOSED)
    with pytest.raises(PermissionRefused):  # the unit that handled it does not rate itself
        s.case_rate_callback(actor=cast.unit, case=hotline, rating="satisfied", now=MONDAY + H)
    hotline = s.case_rate_callback(actor=cast.acceptor, case=hotline, rating="basically_satisfied",
                                   comment="电话回访", now=MONDAY + H)
    assert hotline.status == Status.RATED and hotline.rated_at == MONDAY + H
    entry = AuditEntry.objects.filter(action="case.rate_callback", object_id=str(hotline.pk)).get()
    assert entry.after["on_behalf"] is True and entry.actor == cast.acceptor
    own = walk_to(cast, report(), Status.CLOSED)  # a resident's own report is theirs to rate
    with pytest.raises(DomainError) as refused:
        s.case_rate_callback(actor=cast.acceptor, case=own, rating="satisfied", now=MONDAY + H)
    assert refused.value.code == "reporter_rates"
