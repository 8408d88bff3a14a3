"""Reads of import runs: the runs an actor may see, a run's progress, and its error report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext

from yiwang.accounts.policies import access, restrict
from yiwang.core import clock
from yiwang.imports.choices import RunStatus
from yiwang.imports.messages import row_message, run_message
from yiwang.imports.models import ImportRowError, ImportRun


def import_run_list_for(*, actor) -> QuerySet:
    return restrict(ImportRun.objects.select_related("created_by"), actor=actor, action="view")


def import_run_get_for(*, actor, pk, action: str = "view") -> ImportRun:
    """Missing and out of sight look alike (404)."""
    return access(ImportRun.objects.select_related("created_by"), actor=actor, action=action, pk=pk)


@dataclass(frozen=True)
class Progress:
    percent: float | None  # of the rows in the file; None while the file is being counted
    rate: float | None  # rows per second: of the running session, else over the whole run
    eta_seconds: float | None  # while running
    seconds_running: float
    message: str  # why the run failed, in words


def import_run_progress(run: ImportRun, *, now: dt.datetime | None = None) -> Progress:
    now = now or clock.now()
    total = run.rows_total
    percent = None
    if total is not None:
        percent = 100.0 if total == 0 else round(min(100.0, 100.0 * run.rows_done / total), 1)
    seconds = run.seconds_running
    rate = None
    if run.status in (RunStatus.RUNNING, RunStatus.STOPPING) and run.session_started_at and run.heartbeat_at:
        session_seconds = (run.heartbeat_at - run.session_started_at).total_seconds()
        session_rows = run.rows_done - run.session_rows
        if session_seconds > 0 and session_rows > 0:
            rate = session_rows / session_seconds
        seconds += max(0.0, (now - run.heartbeat_at).total_seconds())
    elif seconds > 0 and run.rows_done:
        rate = run.rows_done / seconds
    eta = None
    if rate and total is not None and run.status in (RunStatus.RUNNING, RunStatus.STOPPING):
        eta = max(0.0, (total - run.rows_done) / rate)
    return Progress(percent=percent, rate=round(rate, 1) if rate else None,
                    eta_seconds=round(eta, 1) if eta is not None else None, seconds_running=round(seconds, 1),
                    message=run_message(run.failure_code, run.failure_params))


def _cell(value: str) -> str:
    """A text cell Excel will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Echo:
    def write(self, value):
        return value


def import_errors_csv(run: ImportRun) -> Iterator[str]:
    """The run's error report as CSV text, streamed in row order: row number (as a spreadsheet shows it),
    original number, column, code, message in the reader's language. UTF-8 with a BOM, so Excel reads it."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([gettext("row"), gettext("original number"), gettext("column"),
                                      gettext("code"), gettext("message")])
    rows = ImportRowError.objects.filter(run=run).order_by("row", "id").values_list(
        "row", "number", "column", "code", "params")
    buffer = io.StringIO()
    for n, (row, number, column, code, params) in enumerate(rows.iterator(chunk_size=2000), start=1):
        buffer.write(writer.writerow([row, _cell(number), _cell(column), code,
                                      _cell(row_message(code, params or {}))]))
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer = io.StringIO()
    yield buffer.getvalue()
