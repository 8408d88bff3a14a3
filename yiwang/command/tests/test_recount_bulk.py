"""seed_bulk: a big history written straight into the tables — one journal entry, realistic states, every time
at or before now, numbers unique — whose rollups equal a recount and whose overview equals plain counts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseDeadline
from yiwang.command import aggregates, plain
from yiwang.command.bulkseed import seed_bulk
from yiwang.command.selectors import overview
from yiwang.core import clock
from yiwang.core.models import AuditEntry

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 23, 15, 20, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_seed_bulk_writes_a_consistent_history(world):
    journal = AuditEntry.objects.count()
    with clock.frozen(NOW):
        report = seed_bulk(cases=1500, days=90, now=NOW, batch=600)
    assert report.cases == Case.objects.count() == 1500
    assert AuditEntry.objects.count() == journal + 1
    assert AuditEntry.objects.order_by("-id").first().action == "demo.bulk_cases"
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {Status.RATED, Status.CLOSED, Status.REJECTED, Status.MERGED, Status.VOIDED, Status.IN_PROGRESS} <= statuses
    assert Case.objects.values("number").distinct().count() == 1500
    for field in ("reported_at", "accepted_at", "filed_at", "handled_at", "closed_at", "rated_at", "ended_at"):
        assert not Case.objects.filter(**{f"{field}__gt": NOW}).exists(), field
    open_with_clock = Case.objects.filter(due_at__isnull=False).count()
    assert open_with_clock and CaseDeadline.objects.filter(ended_at__isnull=True).count() == open_with_clock
    with clock.frozen(NOW):
        assert aggregates.check() == []
    for place in (world.city, world.district_a, world.street_b, world.community_a):
        data = overview(actor=None, region=place, now=NOW)
        assert data == overview(actor=None, region=place, now=NOW, source=plain)
    assert overview(actor=None, region=world.city, now=NOW)["month"]["reported"] > 100
