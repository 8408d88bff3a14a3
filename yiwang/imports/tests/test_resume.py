"""Stop and resume: a run continues exactly after its last committed batch — after a stop, a failure, or a
worker killed mid-batch — and no row is imported twice or lost."""

import datetime as dt
import io

import pytest

from yiwang.cases.models import Case
from yiwang.core import bulk, clock
from yiwang.core.journal import journal_verify
from yiwang.core.models import AuditEntry
from yiwang.imports import services
from yiwang.imports.choices import RunStatus
from yiwang.imports.models import ImportRowError, ImportRun
from yiwang.imports.tests.conftest import NOW, csv_bytes, hotline_row

# 11 rows, one of them refused (no description), one a number twice: batches of 3 are 4 batches.
ROWS = [hotline_row(f"R-{n:02d}", text="" if n == 5 else "垃圾堆积") for n in range(1, 11)] + [hotline_row("R-03")]


def _all_imported_once(run):
    refs = list(Case.objects.values_list("external_ref", flat=True))
    assert sorted(refs) == [f"R-{n:02d}" for n in range(1, 11) if n != 5]  # each good row once, none lost
    assert (run.rows_total, run.rows_done, run.rows_ok, run.rows_failed) == (11, 11, 9, 2)
    assert sorted(ImportRowError.objects.filter(run=run).values_list("row", "code")) == [
        (6, "missing_description"), (12, "duplicate_in_file")]
    assert AuditEntry.objects.filter(action="case.import").count() == 9
    assert journal_verify().ok


def _resume_and_finish(actor, run, *, now=NOW, batch_size=3):
    with clock.frozen(now):
        run = services.import_run_resume(actor=actor, run=run, enqueue=False)
        assert run.status == RunStatus.QUEUED
        return services.import_run_execute(run=run, batch_size=batch_size)


def test_stop_after_n_rows_then_resume(crew, run_import):
    run = run_import(crew.acceptor, csv_bytes(ROWS), batch_size=3, max_rows=4)
    assert run.status == RunStatus.STOPPED
    assert (run.rows_done, run.position, run.batches) == (4, 4, 2)  # 3 + 1: it stops exactly after 4 rows
    assert Case.objects.count() == 4
    run = _resume_and_finish(crew.acceptor, run)
    assert run.status == RunStatus.FINISHED
    _all_imported_once(run)
    actions = list(AuditEntry.objects.filter(object_type="imports.importrun").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["import.create", "import.start", "import.stopped", "import.resume", "import.start",
                       "import.finish"]


def test_a_stop_asked_while_running_takes_effect_after_the_batch_being_written(crew, run_import):
    def stop_after_first_batch(run, _seconds):
        if run.batches == 1:
            stopped = services.import_run_stop(actor=crew.acceptor, run=run)
            assert stopped.status == RunStatus.STOPPING

    run = run_import(crew.acceptor, csv_bytes(ROWS), batch_size=3, on_batch=stop_after_first_batch)
    assert run.status == RunStatus.STOPPED and run.rows_done == 6 and run.batches == 2
    run = _resume_and_finish(crew.acceptor, run)
    _all_imported_once(run)


def test_a_queued_run_stops_at_once(crew):
    with clock.frozen(NOW):
        run = services.import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes(ROWS)), file_name="x.csv",
                                         enqueue=False)
        run = services.import_run_stop(actor=crew.acceptor, run=run)
        assert run.status == RunStatus.STOPPED
        assert services.import_run_execute(run=run).status == RunStatus.STOPPED  # a late task does nothing
    assert not Case.objects.exists()


def test_a_failure_mid_batch_rolls_the_batch_back_and_resume_continues(crew, run_import, monkeypatch):
    real = bulk.insert
    calls = {"journal": 0}

    def fails_on_the_third_batch(model, rows, **kwargs):
        if model is AuditEntry:
            calls["journal"] += 1
            if calls["journal"] == 3:
                raise RuntimeError("disk full")
        return real(model, rows, **kwargs)

    monkeypatch.setattr(bulk, "insert", fails_on_the_third_batch)
    with pytest.raises(RuntimeError):
        run_import(crew.acceptor, csv_bytes(ROWS), batch_size=3)
    run = ImportRun.objects.get()
    assert run.status == RunStatus.FAILED and run.failure_code == "internal"
    assert (run.rows_done, run.position) == (6, 6)  # the third batch left nothing behind
    assert Case.objects.count() == 5  # rows 1-6 less the one refused
    monkeypatch.setattr(bulk, "insert", real)
    run = _resume_and_finish(crew.acceptor, run)
    assert run.status == RunStatus.FINISHED
    _all_imported_once(run)


class _Killed(BaseException):
    """What the process sees of SIGKILL: nothing — the code after it never runs (no except clause catches it)."""


def test_a_worker_killed_mid_batch_is_resumed_from_its_last_committed_batch(crew, run_import, monkeypatch):
    real = bulk.insert
    calls = {"cases": 0}

    def dies_in_the_second_batch(model, rows, **kwargs):
        if model is Case:
            calls["cases"] += 1
            if calls["cases"] == 2:
                real(model, rows, **kwargs)  # half the batch is written when the worker dies
                raise _Killed()
        return real(model, rows, **kwargs)

    monkeypatch.setattr(bulk, "insert", dies_in_the_second_batch)
    with pytest.raises(_Killed):
        run_import(crew.acceptor, csv_bytes(ROWS), batch_size=3)
    monkeypatch.setattr(bulk, "insert", real)
    run = ImportRun.objects.get()
    assert run.status == RunStatus.RUNNING and run.rows_done == 3 and Case.objects.count() == 3

    # While its worker might still be alive, it cannot be resumed by another.
    with clock.frozen(NOW + dt.timedelta(seconds=30)), pytest.raises(services.RunStateError) as refused:
        services.import_run_resume(actor=crew.acceptor, run=run, enqueue=False)
    assert refused.value.code == "run_active" and refused.value.status == 409
    # Once it has been silent for STALE_SECONDS, it is taken over.
    run = _resume_and_finish(crew.acceptor, run, now=NOW + dt.timedelta(seconds=services.STALE_SECONDS))
    assert run.status == RunStatus.FINISHED
    _all_imported_once(run)
    resume = AuditEntry.objects.get(action="import.resume")
    assert resume.after["taken_over"] is True


def test_a_worker_taken_over_while_still_alive_writes_nothing_more(crew, run_import):
    """A worker thought dead (silent too long) but alive: once another has taken the run over, its next batch
    is refused at commit, so the rows are written by one worker only."""
    later = NOW + dt.timedelta(seconds=services.STALE_SECONDS)

    def taken_over_after_the_first_batch(run, _seconds):
        if run.batches == 1:
            taken = _resume_and_finish(crew.acceptor, run, now=later)  # the other worker, to the end
            assert taken.status == RunStatus.FINISHED

    run = run_import(crew.acceptor, csv_bytes(ROWS), batch_size=3, on_batch=taken_over_after_the_first_batch)
    assert run.status == RunStatus.FINISHED
    _all_imported_once(run)


@pytest.mark.parametrize("status", [RunStatus.FINISHED, RunStatus.QUEUED])
def test_only_a_stopped_failed_or_dead_run_resumes(crew, run_import, status):
    if status == RunStatus.FINISHED:
        run = run_import(crew.acceptor, csv_bytes(ROWS[:2]))
    else:
        with clock.frozen(NOW):
            run = services.import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes(ROWS)),
                                             file_name="x.csv", enqueue=False)
    with clock.frozen(NOW), pytest.raises(services.RunStateError) as refused:
        services.import_run_resume(actor=crew.acceptor, run=run, enqueue=False)
    assert refused.value.code == "run_not_resumable"


def test_a_finished_run_cannot_be_stopped(crew, run_import):
    run = run_import(crew.acceptor, csv_bytes(ROWS[:2]))
    with clock.frozen(NOW), pytest.raises(services.RunStateError) as refused:
        services.import_run_stop(actor=crew.acceptor, run=run)
    assert refused.value.code == "run_ended"


def test_the_command_stops_and_resumes(crew, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "工单.csv"
    path.write_bytes(csv_bytes(ROWS, encoding="gb18030"))
    out = io.StringIO()
    with clock.frozen(NOW):
        call_command("import_cases", str(path), "--as-user", crew.acceptor.username, "--stop-after", "5",
                     "--batch", "2", stdout=out)
    run = ImportRun.objects.get()
    assert run.status == RunStatus.STOPPED and run.rows_done == 5
    assert f"--resume {run.pk}" in out.getvalue()
    with clock.frozen(NOW):
        call_command("import_cases", "--resume", str(run.pk), "--as-user", crew.acceptor.username, stdout=out)
    run.refresh_from_db()
    _all_imported_once(run)
    assert run.created_by == crew.acceptor


def test_progress_while_running(crew, api, monkeypatch):
    """What a progress bar needs, read through the API between batches: rows total and done, the share, the
    rate and the time left."""
    ticks = iter(range(10_000))
    monkeypatch.setattr(clock, "now", lambda: NOW + dt.timedelta(seconds=next(ticks)))
    seen = []

    def look(run, _seconds):
        seen.append(api(crew.acceptor).get(f"/api/v1/imports/{run.pk}/").json())

    run = services.import_run_create(actor=crew.acceptor, file=io.BytesIO(csv_bytes(ROWS)), file_name="x.csv",
                                     enqueue=False)
    run = services.import_run_execute(run=run, batch_size=3, on_batch=look)
    first = seen[0]
    assert first["status"] == "running" and first["rows_total"] == 11
    assert (first["rows_done"], first["rows_ok"], first["rows_failed"], first["batches"]) == (3, 3, 0, 1)
    assert first["percent"] == pytest.approx(27.3) and first["rate"] > 0 and first["eta_seconds"] > 0
    assert [s["percent"] for s in seen] == sorted(s["percent"] for s in seen)
    final = api(crew.acceptor).get(f"/api/v1/imports/{run.pk}/").json()
    assert final["status"] == "finished" and final["percent"] == 100.0 and final["eta_seconds"] is None
    assert final["rate"] > 0 and final["seconds_running"] > 0 and final["finished_at"]
    assert final["errors_url"].endswith(f"/api/v1/imports/{run.pk}/errors.csv")
