"""The demo's case history: made through the real services by people in scope, in time order, with every state
and side path in realistic shares (the package's `demo` fixture builds it: CASES cases up to NOW)."""

import datetime as dt
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils.translation import gettext

from yiwang.cases.choices import Rating, Status
from yiwang.cases.models import Case, CaseAttachment, CaseExtension, CaseSupervision
from yiwang.cases.selectors import light_of
from yiwang.core.models import AuditEntry
from yiwang.demo.tests.conftest import CASES, NOW, _cases

pytestmark = pytest.mark.django_db

SWEEP = {"case.deadline_warning", "case.deadline_breach"}


def _journal():
    rows = AuditEntry.objects.filter(object_type="cases.case").order_by("id").values_list(
        "object_id", "action", "created_at", "actor_id", "actor_roles", "scope_path")
    by_case = defaultdict(list)
    for row in rows:
        by_case[int(row[0])].append(row)
    return rows, by_case


def test_every_case_is_journaled_from_its_report_in_time_order(demo):
    rows, by_case = _journal()
    assert demo.report.cases == CASES and set(by_case) == set(Case.objects.values_list("pk", flat=True))
    for entries in by_case.values():
        assert entries[0][1] == "case.report"
        times = [e[2] for e in entries]
        assert times == sorted(times) and times[-1] <= NOW
    # One queue in time order: the journal's own order is the order of time, too.
    times = [row[2] for row in rows]
    assert times == sorted(times)
    assert max(times) == NOW  # the closing sweep
    assert {row[1] for row in rows if row[2] == NOW} <= SWEEP | {"case.report"}


def test_every_step_is_done_by_someone_in_scope(demo):
    rows, _by_case = _journal()
    for _pk, action, _at, actor_id, roles, scope_path in rows:
        if action in SWEEP:
            assert actor_id is None
            continue
        assert actor_id is not None, action
        # a region or grid role over the place, a role in a unit (the lead unit; the services checked which),
        # or the reporter's own
        assert any(kind in ("unit", "own") or scope_path.startswith(path) for kind, path, _unit in roles), action
    reporters = set(Case.objects.filter(reporter__isnull=False).values_list("reporter__username", flat=True))
    assert reporters == {"resident", "enterprise"}


def test_cases_wait_in_every_state_and_took_every_side_path(demo):
    statuses = Counter(Case.objects.values_list("status", flat=True))
    assert demo.report.by_status == dict(sorted(statuses.items()))
    for status in (Status.REPORTED, Status.ACCEPTED, Status.FILED, Status.DISPATCHED, Status.IN_PROGRESS,
                   Status.HANDLED, Status.RETURNED, Status.PARKED, Status.CLOSED, Status.RATED, Status.REJECTED,
                   Status.VOIDED):
        assert statuses[status] > 0, status
    cases = Case.objects.all()
    assert cases.filter(parent__isnull=False).exists()  # merged duplicates (closed with their parent since)
    assert cases.filter(self_handled=True, status__in=[Status.CLOSED, Status.RATED]).exists()
    # every fix on the spot carries its photo of the result, as the service requires
    fixed = set(cases.filter(self_handled=True).values_list("pk", flat=True))
    assert fixed == set(CaseAttachment.objects.filter(action="self_handle", kind="photo").values_list("case", flat=True))
    for counter in ("rework_count", "escalation_count", "return_count", "reopen_count", "extension_count"):
        assert cases.filter(**{f"{counter}__gt": 0}).exists(), counter
    assert cases.filter(escalation_count=2, level__level="district").exists()  # community → street → district
    assert CaseExtension.objects.filter(decision="denied").exists()
    assert CaseSupervision.objects.filter(leader__isnull=False).exists()
    assert cases.filter(handled_at__gt=F("handle_due_at")).exists()  # handled late
    lights = Counter(light_of(case, NOW) for case in cases.exclude(due_at=None))
    assert lights["red"] and lights["green"]


def test_shares_are_realistic(demo):
    cases = Case.objects.all()
    channels = Counter(cases.values_list("channel", flat=True))
    assert 0.37 < channels["app"] / CASES < 0.53
    assert 0.22 < channels["patrol"] / CASES < 0.38
    assert 0.08 < channels["hotline"] / CASES < 0.22
    assert channels["enterprise"] and channels["video"] + channels["department"] + channels["community"]
    statuses = Counter(cases.values_list("status", flat=True))
    assert 0.015 <= statuses[Status.REJECTED] / CASES <= 0.05
    assert 0.003 <= statuses[Status.VOIDED] / CASES <= 0.03
    assert 0.005 <= cases.filter(parent__isnull=False).count() / CASES <= 0.04
    patrols = cases.filter(channel="patrol").count()
    assert 0.05 <= cases.filter(self_handled=True).count() / patrols <= 0.15
    # 结案率: of the cases due to be closed by now (not voided), more than nine in ten are closed …
    due = cases.filter(close_due_at__lte=NOW).exclude(status=Status.VOIDED)
    assert due.filter(closed_at__isnull=False).count() / due.count() > 0.9
    # … and 满意率: about 95% satisfied or basically satisfied, like the seed figures.
    ratings = Counter(cases.filter(status=Status.RATED).values_list("rating", flat=True))
    rated = sum(ratings.values())
    assert rated > 0.3 * CASES
    assert (ratings[Rating.SATISFIED] + ratings[Rating.BASICALLY]) / rated > 0.9
    # most reporters who can rate did
    rateable = cases.filter(reporter__isnull=False, status__in=[Status.CLOSED, Status.RATED]).count()
    assert rated / rateable > 0.8


def test_journal_chain_is_intact(demo):
    out = StringIO()
    call_command("verify_journal", stdout=out)
    assert "journal intact" in out.getvalue()


def test_same_seed_same_history(demo):
    assert demo.first == _cases()


def test_seed_demo_builds_the_history_when_the_city_has_none(demo):
    assert demo.command_cases == 40
    summary = gettext("Case history built in %(s).1f s: %(n)d cases.")
    before, after = summary.split("%(s).1f")[0], summary.split("%(n)d")[1]
    assert before in demo.history_output and f"40{after}" in demo.history_output


def test_a_city_without_desks_gets_no_history_and_nothing_is_written(demo):
    from yiwang.accounts.models import RoleAssignment
    from yiwang.accounts.services import role_assignment_end
    from yiwang.demo.history import HistoryImpossible, demo_history_build

    street = "211102001000"  # its shift leaders: the street's, the district's and the city's
    for assignment in RoleAssignment.objects.filter(role__code="shift_lead", user__username__in=[
            f"zb{street}", "zb211102000000", "zb211100000000"]):
        role_assignment_end(actor=None, assignment=assignment, valid_to=(NOW - dt.timedelta(days=1)).date())
    entries = AuditEntry.objects.count()
    with pytest.raises(HistoryImpossible, match="shift_lead"):
        demo_history_build(cases=10, now=NOW)
    assert AuditEntry.objects.count() == entries


def test_the_demo_grid_worker_has_work_in_their_own_grid(demo):
    """Whoever signs in as `gridworker` finds their grid's reports, their own patrol reports and a case on its
    way to being handled and checked on site — not empty lists."""
    from yiwang.accounts.models import RoleAssignment

    worker = RoleAssignment.objects.select_related("user").get(user__username="gridworker", role__code="grid_worker")
    mine = Case.objects.filter(grid_id=worker.grid_id)
    assert mine.count() >= round(0.01 * CASES)
    assert mine.filter(status__in=[Status.DISPATCHED, Status.IN_PROGRESS, Status.HANDLED]).exists()
    patrols = [str(pk) for pk in mine.filter(channel="patrol").values_list("pk", flat=True)]
    assert AuditEntry.objects.filter(action="case.report", object_id__in=patrols, actor=worker.user).exists()
