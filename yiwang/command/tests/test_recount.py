# ruff: noqa: F811  (the case loop's fixtures are imported, then asked for by name)
"""`manage.py recount_aggregates`: rebuilds, and with --check finds every difference and exits 1."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yiwang.cases.tests.conftest import cast, report  # noqa: F401
from yiwang.command.models import DayFigures, OpenCases

pytestmark = pytest.mark.django_db


def test_recount_rebuilds_what_was_lost_and_check_says_so(cast, report):
    report()
    report(channel="patrol", actor=cast.grid_worker)
    call_command("recount_aggregates", "--check", stdout=io.StringIO())
    reported = DayFigures.objects.get(node=cast.world.city.path).reported
    assert reported == 2

    DayFigures.objects.all().delete()
    OpenCases.objects.filter(node=cast.world.grid_a.path).update(open=7)
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("recount_aggregates", "--check", stdout=out)
    assert refused.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert any(line.startswith(f"DayFigures {cast.world.city.path}") and "live 0" in line for line in lines)
    assert any(line.startswith(f"OpenCases {cast.world.grid_a.path}") for line in lines)
    assert DayFigures.objects.count() == 0  # --check changes nothing

    out = io.StringIO()
    call_command("recount_aggregates", stdout=out)
    assert "DayFigures" in out.getvalue()
    assert DayFigures.objects.get(node=cast.world.city.path).reported == 2
    call_command("recount_aggregates", "--check", stdout=io.StringIO())
