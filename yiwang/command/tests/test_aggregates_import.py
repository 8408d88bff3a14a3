# ruff: noqa: F811  (the import's fixtures are imported, then asked for by name)
"""The bulk import's fast path adds its cases to the rollups in the same transaction."""

import datetime as dt

import pytest

from yiwang.cases.measures import COUNTS, measures_for
from yiwang.command import aggregates
from yiwang.command.models import DayFigures
from yiwang.command.selectors import overview
from yiwang.core import clock
from yiwang.imports.tests.conftest import IN_A2, IN_B, NOW, TZ, crew, csv_bytes, hotline_row, run_import  # noqa: F401

pytestmark = pytest.mark.django_db


def test_imported_cases_are_in_the_rollups(crew, run_import):
    rows = [hotline_row("12345-0001"), hotline_row("12345-0002", where=IN_A2, when="2026-11-21 08:00:00"),
            hotline_row("12345-0003", where=IN_B, status="已办结", closed="2026-11-21 18:00:00"),
            hotline_row("12345-0004", when="2026-10-30 23:30:00", status="已办结", closed="2026-11-02 09:00:00")]
    run = run_import(crew.admin, csv_bytes(rows))
    assert run.rows_ok == 4
    assert DayFigures.objects.get(node=crew.world.city.path, day=dt.date(2026, 11, 20)).reported == 2
    with clock.frozen(NOW):
        assert aggregates.check() == []
    now = NOW + dt.timedelta(hours=3)
    for place in (crew.world.city, crew.world.district_a, crew.world.district_b):
        data = overview(actor=None, region=place, now=now)
        expected = measures_for(actor=None, region=place, period_start=dt.datetime(2026, 11, 1, tzinfo=TZ),
                                period_end=dt.datetime(2026, 12, 1, tzinfo=TZ), now=now)
        assert {k: data["measures"][k] for k in COUNTS} == expected.counts
    assert overview(actor=None, region=crew.world.city, now=now)["measures"]["reported"] == 3
