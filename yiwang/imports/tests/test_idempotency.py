"""Original numbers make an import idempotent: the same file twice creates nothing new and says so per row."""

import pytest
from django.db import IntegrityError, transaction

from yiwang.cases.models import Case
from yiwang.cases.services import case_report
from yiwang.core import clock
from yiwang.core.models import AuditEntry
from yiwang.imports.choices import RunStatus
from yiwang.imports.tests.conftest import NOW, csv_bytes, error_report, hotline_row

ROWS = [hotline_row(f"12345-{n:04d}") for n in range(1, 6)]


def test_the_same_file_twice_creates_nothing_new(crew, run_import, api):
    first = run_import(crew.acceptor, csv_bytes(ROWS))
    assert first.rows_ok == 5
    numbers = dict(Case.objects.values_list("external_ref", "number"))
    entries = AuditEntry.objects.filter(action="case.import").count()

    again = run_import(crew.acceptor, csv_bytes(ROWS), batch_size=2)
    assert again.status == RunStatus.FINISHED
    assert (again.rows_done, again.rows_ok, again.rows_skipped, again.rows_failed) == (5, 0, 5, 0)
    assert Case.objects.count() == 5 and AuditEntry.objects.filter(action="case.import").count() == entries
    report = error_report(api(crew.acceptor), again.pk)
    assert [(line["original number"], line["code"]) for line in report] == [
        (f"12345-{n:04d}", "already_imported") for n in range(1, 6)]
    assert report[0]["message"] == f"Already imported as case {numbers['12345-0001']}."


def test_a_file_that_grew_imports_only_its_new_rows(crew, run_import):
    run_import(crew.acceptor, csv_bytes(ROWS[:3]))
    run = run_import(crew.acceptor, csv_bytes(ROWS))
    assert (run.rows_ok, run.rows_skipped) == (2, 3)
    assert Case.objects.count() == 5


def test_a_case_reported_by_hand_with_the_number_is_not_imported_again(crew, run_import):
    from yiwang.imports.tests.conftest import IN_A

    with clock.frozen(NOW):
        case_report(actor=crew.acceptor, description="电话录入", channel="hotline", lat=float(IN_A[1]),
                    lon=float(IN_A[0]), external_ref="12345-0003")
    run = run_import(crew.acceptor, csv_bytes(ROWS))
    assert (run.rows_ok, run.rows_skipped) == (4, 1)


def test_the_same_number_from_another_channel_is_another_case(crew, run_import):
    run_import(crew.acceptor, csv_bytes(ROWS[:1]))
    run = run_import(crew.acceptor, csv_bytes(ROWS[:1]), channel="department")
    assert run.rows_ok == 1
    assert sorted(Case.objects.values_list("channel", flat=True)) == ["department", "hotline"]


def test_the_database_itself_refuses_a_second_case_with_a_number(crew, run_import):
    run_import(crew.acceptor, csv_bytes(ROWS[:1]))
    case = Case.objects.get()
    twin = Case(**{f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields if not f.primary_key})
    twin.number = "YW-TWIN"
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save(force_insert=True)
    twin.external_ref = ""  # cases without an original number are not constrained
    twin.save(force_insert=True)
    twin2 = Case(**{f.attname: getattr(twin, f.attname) for f in Case._meta.concrete_fields if not f.primary_key})
    twin2.number = "YW-TWIN2"
    twin2.save(force_insert=True)


def test_a_number_written_meanwhile_is_skipped_not_doubled(crew, run_import, monkeypatch):
    """The check for numbers already imported runs inside the batch's transaction; a number another writer
    commits between that check and the insert is refused by the unique constraint, and the batch is checked
    and written again: the row is reported already imported, never doubled."""
    from yiwang.imports import services

    run_import(crew.acceptor, csv_bytes(ROWS[1:2]))  # "the other writer"
    real = services._already_imported
    calls = {"n": 0}

    def misses_it_once(rows):
        calls["n"] += 1
        return {} if calls["n"] == 1 else real(rows)

    monkeypatch.setattr(services, "_already_imported", misses_it_once)
    run = run_import(crew.acceptor, csv_bytes(ROWS))
    assert run.status == RunStatus.FINISHED and calls["n"] == 2
    assert (run.rows_ok, run.rows_skipped) == (4, 1)
    assert Case.objects.count() == 5
