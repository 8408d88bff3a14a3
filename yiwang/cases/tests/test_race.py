"""Real concurrent transactions on PostgreSQL: two dispatchers on one case, many reports taking numbers."""

import threading

import pytest
from django.db import connection, connections

from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseHandler
from yiwang.cases.tests.conftest import MONDAY
from yiwang.cases.tests.test_loop import walk_to
from yiwang.core.errors import DomainError
from yiwang.core.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _race(workers):
    """Run each callable in its own thread and connection, all released at once; collect results/errors."""
    barrier, outcomes = threading.Barrier(len(workers)), []

    def run(work):
        try:
            barrier.wait()
            outcomes.append(("ok", work()))
        except DomainError as error:
            outcomes.append(("refused", error.code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")


def test_two_dispatchers_racing_exactly_one_wins(postgres_only, cast, report):
    from yiwang.accounts.models import Role
    from yiwang.accounts.services import role_assign, user_create

    rival = user_create(actor=None, username="dispatcher_rival", password="pw-Secret-123")
    role_assign(actor=None, user=rival, role=Role.objects.get(code="dispatcher"), region=cast.world.street_a,
                valid_from=MONDAY.date().replace(month=1, day=1))
    case = walk_to(cast, report(), Status.FILED)
    outcomes = _race([
        lambda: s.case_dispatch(actor=cast.dispatcher, case=case.pk, unit=cast.world.unit_a, now=MONDAY).pk,
        lambda: s.case_dispatch(actor=rival, case=case.pk, unit=cast.street_office, now=MONDAY).pk,
    ])
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert [code for kind, code in outcomes if kind == "refused"] == ["invalid_transition"]
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    leads = CaseHandler.objects.filter(case=case, role="lead", ended_at__isnull=True)
    assert leads.count() == 1 and leads.get().unit == case.lead_unit
    assert AuditEntry.objects.filter(object_id=str(case.pk), action="case.dispatch").count() == 1


def test_concurrent_reports_get_distinct_numbers(postgres_only, cast):
    reporters = [cast.resident, cast.resident2] * 4
    outcomes = _race([
        (lambda who=who: s.case_report(actor=who, description="井盖缺失", channel="app", lat=40.005, lon=120.005,
                                       now=MONDAY).number) for who in reporters
    ])
    numbers = [value for kind, value in outcomes if kind == "ok"]
    assert len(numbers) == 8 and len(set(numbers)) == 8
    assert Case.objects.count() == 8
