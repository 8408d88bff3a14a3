"""Bulk import of hotline (8890/12345) and legacy cases: create, stop and resume a run, and the bulk path that
executes it.

One call per row of `case_report` costs milliseconds (a transaction, a locked counter, a journal append each);
a million rows would take hours. So a run reads its file in batches (BATCH_SIZE rows): all checks and the
point → grid location of a batch happen in Python and numpy first, then one transaction per batch reserves a
block of case numbers per day, inserts the cases, their response clocks and one chained journal entry each
("case.import"), the batch's error rows and the run's new position. A batch commits all of that or nothing, so
a run stopped or killed between batches resumes from its last committed batch and never imports a row twice;
the unique (channel, external_ref) of the case guards that as well.

What an imported row becomes:
- a row whose status in the source system is finished (办结, 已办结, 结案, 已完成 …) *and* that has a close time
  is created closed, with its report and close times; it has no deadlines (the platform did not set any), so it
  counts in 上报数 for its month but in no 应…数: the timeliness rates stay about the platform's own work;
- every other row is created "reported", waiting at its community's desk (or its region's, without a grid) to
  be accepted, with a response clock started at the import: the case reaches the platform now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import SimpleNamespace

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.policies import GRID, REGION, grants_for, require
from yiwang.cases.choices import Channel, Status
from yiwang.cases.models import Case, CaseDeadline, CaseNumberCounter
from yiwang.cases.services import TRACKED, mask_phone
from yiwang.command.aggregates import cases_inserted
from yiwang.core import bulk, clock
from yiwang.core.errors import DomainError, PermissionRefused, invalid
from yiwang.core.models import AuditEntry
from yiwang.core.services import audit_entry, audit_write
from yiwang.imports.checks import Batch, Context, Row, prepare_batch, row_error
from yiwang.imports.choices import ACTIVE, RESUMABLE, Crs, FileFormat, RunStatus
from yiwang.imports.mapping import FIELDS, check_mapping, resolve
from yiwang.imports.models import ImportRowError, ImportRun
from yiwang.imports.readers import SourceError, Table, cell_text, detect_encoding, sniff_format
from yiwang.org.choices import LimitStep, Urgency

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
# A running run whose last batch committed longer ago than this is taken to be dead (its worker was killed)
# and may be resumed by another.
STALE_SECONDS = 120
IMPORT_PERM = "imports.add_importrun"


class RunStateError(DomainError):
    code = "invalid_transition"
    status = 409
    default_message = _("The import is not in a state that allows this.")


# --- create, stop, resume -------------------------------------------------------------------------------------

def _import_grants(actor) -> list:
    return [g for g in grants_for(actor).get(IMPORT_PERM, []) if g.kind in (REGION, GRID)]


def _scope_path(actor) -> str:
    """The deepest region over all the actor's import roles: whoever may view imports there sees the run."""
    if actor is None or actor.is_superuser:
        return ""
    chains = [g.path.strip("/").split("/") for g in _import_grants(actor)]
    common = []
    for codes in zip(*chains, strict=False):
        if len(set(codes)) != 1:
            break
        common.append(codes[0])
    return "/".join(common) + "/" if common else ""


def _journal(*, actor, run: ImportRun, action: str, details: dict | None = None, reason: str = "") -> None:
    after = {"status": run.status, "file_name": run.file_name, "rows_total": run.rows_total,
             "rows_done": run.rows_done, "rows_ok": run.rows_ok, "rows_skipped": run.rows_skipped,
             "rows_failed": run.rows_failed, "position": run.position, **(details or {})}
    audit_write(actor=actor, action=action, obj=run, after=after, reason=reason, scope_path=run.scope_path)


def _enqueue(run: ImportRun) -> None:
    from yiwang.imports.tasks import import_run_task

    run_id = run.pk
    transaction.on_commit(lambda: import_run_task(run_id))


def import_run_create(*, actor, file, file_name: str, mapping=None, channel: str = Channel.HOTLINE,
                      crs: str = Crs.WGS84, now: dt.datetime | None = None, enqueue: bool = True) -> ImportRun:
    """Take an uploaded CSV or XLSX file and queue its import. The file is kept with the run, so a stopped run
    resumes without it being sent again. Only the format is checked here; the header, the mapping and every row
    are checked by the run itself, whose progress and errors the caller then follows."""
    now = now or clock.now()
    if actor is not None and not actor.is_superuser and not _import_grants(actor):
        raise PermissionRefused()
    mapping = check_mapping(mapping)
    if channel not in Channel.values:
        raise invalid(gettext("Unknown channel."), "channel_invalid", "channel")
    if crs not in Crs.values:
        raise invalid(gettext("Unknown coordinate system."), "crs_invalid", "crs")
    head = file.read(8192)
    file.seek(0)
    if not head:
        raise invalid(gettext("The file is empty."), "file_empty", "file")
    file_format = sniff_format(head)
    if file_format is None:
        raise invalid(gettext("The file is not a CSV or XLSX file (an old .xls must be saved as .xlsx first)."),
                      "file_type", "file")
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    with clock.frozen(now), transaction.atomic():
        run = ImportRun(token=secrets.token_hex(16), created_by=actor, created_at=now, scope_path=_scope_path(actor),
                        file_name=os.path.basename(file_name or "import")[:255], file_format=file_format,
                        file_size=size, channel=channel, crs=crs, mapping=mapping)
        run.file.save(f"{run.token}.{file_format}", File(file), save=False)
        run.save()
        _journal(actor=actor, run=run, action="import.create", details={
            "file_format": file_format, "file_size": size, "channel": channel, "crs": crs, "mapping": mapping})
        if enqueue:
            _enqueue(run)
    return run


def _lock(run: ImportRun | int) -> ImportRun:
    return ImportRun.objects.select_for_update().get(pk=run.pk if isinstance(run, ImportRun) else run)


def import_run_stop(*, actor, run: ImportRun | int, now: dt.datetime | None = None) -> ImportRun:
    """Stop a run: at once if it waits in the queue, else after the batch it is writing."""
    now = now or clock.now()
    with clock.frozen(now), transaction.atomic():
        run = _lock(run)
        require(run, actor=actor, action="change")
        if run.status in (RunStatus.STOPPED, RunStatus.STOPPING):
            return run
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            raise RunStateError(gettext("The import has ended; there is nothing to stop."), code="run_ended")
        run.status = RunStatus.STOPPED if run.status == RunStatus.QUEUED else RunStatus.STOPPING
        if run.status == RunStatus.STOPPED:
            run.claim = ""
        run.save()
        _journal(actor=actor, run=run, action="import.stop")
    return run


def _stale(run: ImportRun, now: dt.datetime) -> bool:
    beat = run.heartbeat_at or run.started_at or run.created_at
    return (now - beat).total_seconds() >= STALE_SECONDS


def import_run_resume(*, actor, run: ImportRun | int, now: dt.datetime | None = None,
                      enqueue: bool = True) -> ImportRun:
    """Continue a stopped or failed run after its last committed batch. A run still marked running whose worker
    has not committed a batch for STALE_SECONDS was killed: it is taken over (its old worker, should it wake up,
    can no longer commit)."""
    now = now or clock.now()
    with clock.frozen(now), transaction.atomic():
        run = _lock(run)
        require(run, actor=actor, action="change")
        if run.status == RunStatus.STOPPING:  # not stopped yet: keep it running
            run.status = RunStatus.RUNNING
            run.save()
            _journal(actor=actor, run=run, action="import.resume")
            return run
        if run.status == RunStatus.RUNNING and not _stale(run, now):
            raise RunStateError(gettext("The import is running."), code="run_active")
        if run.status not in (*RESUMABLE, RunStatus.RUNNING):
            raise RunStateError(gettext("The import is %(status)s; it cannot be resumed.")
                                % {"status": RunStatus(run.status).label}, code="run_not_resumable")
        taken_over = run.status == RunStatus.RUNNING
        run.status, run.claim = RunStatus.QUEUED, ""
        run.failure_code, run.failure_params = "", {}
        run.save()
        _journal(actor=actor, run=run, action="import.resume", details={"taken_over": taken_over})
        if enqueue:
            _enqueue(run)
    return run


# --- executing a run ------------------------------------------------------------------------------------------

class _Superseded(Exception):
    """The run was stopped, taken over or changed under this worker: it writes nothing more."""


def _reserve_numbers(rows: list[Row], tz) -> dict[dt.date, int]:
    """The first of a block of case numbers per day (the day a row was reported), one locked UPDATE each, in
    day order (so two writers cannot deadlock)."""
    counts = Counter(timezone.localtime(r.reported_at, tz).date() for r in rows)
    if not counts:
        return {}
    CaseNumberCounter.objects.bulk_create([CaseNumberCounter(day=day) for day in counts], ignore_conflicts=True)
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    first = {}
    with connection.cursor() as cursor:
        for day in sorted(counts):
            cursor.execute(f"UPDATE {table} SET last = last + %s WHERE day = %s RETURNING last",
                           [counts[day], connection.ops.adapt_datefield_value(day)])
            first[day] = cursor.fetchone()[0] - counts[day] + 1
    return first


def _already_imported(rows: list[Row]) -> dict[tuple[str, str], str]:
    by_channel: dict[str, list[str]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row.number)
    condition = Q()
    for channel, numbers in by_channel.items():
        condition |= Q(channel=channel, external_ref__in=numbers)
    if not condition:
        return {}
    return {(channel, ref): number for channel, ref, number in
            Case.objects.filter(condition).exclude(external_ref="").order_by()
            .values_list("channel", "external_ref", "number")}


def _commit(ctx: Context, claim: str, batch: Batch, now: dt.datetime, *, stop: bool) -> ImportRun:
    """Write one batch, all or nothing: its cases, clocks, journal entries, errors and the run's position."""
    tz = ctx.tz
    with clock.frozen(now), transaction.atomic():
        run = _lock(ctx.run)
        if run.claim != claim or run.status not in ACTIVE:
            raise _Superseded()
        existing = _already_imported(batch.rows)
        new_rows, skipped = [], []
        for row in batch.rows:
            case_number = existing.get((row.channel, row.number))
            if case_number is None:
                new_rows.append(row)
            else:
                skipped.append(row_error(ctx, row, row.number, "external_ref", "already_imported", case=case_number))
        first = _reserve_numbers(new_rows, tz)
        prefix = settings.YIWANG_CASE_PREFIX
        numbered = []
        for row in new_rows:  # numbers in the file's order
            day = timezone.localtime(row.reported_at, tz).date()
            numbered.append((row, f"{prefix}{day:%Y%m%d}-{first[day]:06d}"))
            first[day] += 1
        # Written in the order of their places: the rows of a grid land in neighbouring pages of the indexes by
        # place (region, level, grid), which both databases write faster than rows scattered over the city.
        numbered.sort(key=lambda pair: pair[0].path)
        new_rows = [row for row, _number in numbered]
        ids = bulk.allocate_ids(Case, len(numbered))
        cases, clocks = [], []
        for (row, number), pk in zip(numbered, ids, strict=True):
            category = row.category
            urgency = row.urgency or (category.default_urgency if category else Urgency.YELLOW)
            values = {
                "id": pk, "number": number, "channel": row.channel, "external_ref": row.number,
                "description": row.description, "address": row.address, "lat": row.lat, "lon": row.lon,
                "grid_id": row.grid_id, "region_id": row.place_id, "region_path": row.path, "level_id": row.place_id,
                "level_path": row.level_path, "category_id": category.pk if category else None, "urgency": urgency,
                "reporter_name": row.reporter_name, "reporter_phone": row.reporter_phone,
                "reported_at": row.reported_at, "result": row.result,
            }
            if row.finished:
                values["status"] = Status.CLOSED
                values["handled_at"] = values["closed_at"] = row.closed_at
            else:
                values["status"] = Status.REPORTED
                amount, unit, due, warn = ctx.limit(category, urgency, LimitStep.RESPOND, now)
                values["respond_due_at"] = values["due_at"] = due
                values["warn_at"] = warn
                clocks.append({"case_id": pk, "step": LimitStep.RESPOND, "amount": amount, "unit": unit,
                               "started_at": now, "due_at": due, "warn_at": warn})
            cases.append(values)
        bulk.insert(Case, cases, with_pk=True)
        cases_inserted(cases)
        bulk.insert(CaseDeadline, clocks)
        if cases:
            AuditEntry.objects.bulk_insert(_entries(ctx, cases, new_rows))
        bulk.insert(ImportRowError, [*batch.errors, *skipped])

        run.position = batch.position_after
        run.rows_done += batch.read
        run.rows_ok += len(cases)
        run.rows_skipped += len(skipped)
        run.rows_failed += batch.failed
        run.batches += 1
        if run.heartbeat_at:
            run.seconds_running += max(0.0, (now - run.heartbeat_at).total_seconds())
        run.heartbeat_at = now
        stopping = run.status == RunStatus.STOPPING or stop
        if stopping:
            run.status, run.claim = RunStatus.STOPPED, ""
        run.save()
        if stopping:
            _journal(actor=ctx.actor, run=run, action="import.stopped")
    ctx.run = run
    return run


class _CaseRef:
    """What the journal needs of a case that exists only as a row of values."""

    _meta = Case._meta

    def __init__(self, pk: int, number: str):
        self.pk, self.number = pk, number

    def __str__(self):
        return self.number


# The fields snapshot(case, TRACKED) records, with a new case's defaults.
_TRACKED = [(f.attname, f.get_default()) for f in Case._meta.concrete_fields if f.name in TRACKED or f.attname in TRACKED]


def _when(value):
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _entries(ctx: Context, cases: list[dict], rows: list[Row]) -> list[SimpleNamespace]:
    """One "case.import" entry per case, as the values of its row: what case_report records (TRACKED, the phone
    masked), plus the times, the status in the source system, and where the row came from. Copied from one
    audit_entry(), so every entry reads like any other."""
    first = audit_entry(actor=ctx.actor, action="case.import", obj=_CaseRef(cases[0]["id"], cases[0]["number"]))
    shared = {name: getattr(first, name) for name in (
        "created_at", "actor_id", "actor_name", "actor_roles", "action", "object_type", "request_id")}
    entries = []
    for values, row in zip(cases, rows, strict=True):
        after = {attname: _when(values.get(attname, default)) for attname, default in _TRACKED}
        after.update(
            number=values["number"], channel=values["channel"], external_ref=values["external_ref"],
            description=values["description"], address=values["address"], lat=values["lat"], lon=values["lon"],
            reporter_name=values["reporter_name"], reporter_phone=mask_phone(values["reporter_phone"]),
            reported_at=_when(values["reported_at"]), closed_at=_when(values.get("closed_at")),
            legacy_status=row.legacy_status, import_run=ctx.run.pk, row=row.line,
        )
        entries.append(SimpleNamespace(**shared, object_id=str(values["id"]), object_repr=values["number"],
                                       scope_path=values["region_path"], before=None, after=after, reason="",
                                       prev_hash="", hash=""))
    return entries


@contextlib.contextmanager
def _local_file(run: ImportRun) -> Iterator[str]:
    """A path to the run's file on this machine (a temporary copy when the storage is remote)."""
    storage = run.file.storage
    try:
        path = storage.path(run.file.name)
    except NotImplementedError:
        path = None
    if path is not None:
        if not os.path.exists(path):
            raise SourceError("file_missing")
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=f".{run.file_format}") as copy:
        try:
            with storage.open(run.file.name, "rb") as source:
                shutil.copyfileobj(source, copy, 1 << 20)
        except OSError:
            raise SourceError("file_missing") from None
        copy.flush()
        yield copy.name


def _claim(run_id: int, now: dt.datetime) -> tuple[ImportRun, str] | None:
    with clock.frozen(now), transaction.atomic():
        run = _lock(run_id)
        if run.status != RunStatus.QUEUED:
            return None
        claim = secrets.token_hex(16)
        run.status, run.claim = RunStatus.RUNNING, claim
        run.started_at = run.started_at or now
        run.session_started_at = run.heartbeat_at = now
        run.session_rows = run.rows_done
        run.save()
        _journal(actor=run.created_by, run=run, action="import.start")
    return run, claim


def _save_progress(run: ImportRun, claim: str, **values) -> None:
    if not ImportRun.objects.filter(pk=run.pk, claim=claim, status__in=ACTIVE).update(**values):
        raise _Superseded()
    for name, value in values.items():
        setattr(run, name, value)


def _fail(run: ImportRun, claim: str, code: str, params: dict, now: dt.datetime) -> ImportRun:
    with clock.frozen(now), transaction.atomic():
        locked = _lock(run)
        if locked.claim != claim:
            return locked
        locked.status, locked.claim = RunStatus.FAILED, ""
        locked.failure_code, locked.failure_params = code, params
        locked.save()
        _journal(actor=locked.created_by, run=locked, action="import.fail", details={"failure_code": code})
    return locked


def _finish(run: ImportRun, claim: str, now: dt.datetime) -> ImportRun:
    with clock.frozen(now), transaction.atomic():
        locked = _lock(run)
        if locked.claim != claim or locked.status not in ACTIVE:
            raise _Superseded()
        locked.status, locked.claim = RunStatus.FINISHED, ""
        locked.finished_at = now
        locked.rows_total = locked.rows_done  # an XLSX's declared size may count trailing blank rows
        if locked.heartbeat_at:
            locked.seconds_running += max(0.0, (now - locked.heartbeat_at).total_seconds())
        locked.heartbeat_at = now
        locked.save()
        _journal(actor=locked.created_by, run=locked, action="import.finish")
    return locked


def _open(run: ImportRun, path: str, claim: str) -> tuple[Table, dict[str, int]]:
    """Find the header, match the columns, count the rows (first session only)."""
    table = Table(path=path, file_format=run.file_format, encoding=run.encoding)
    if run.file_format == FileFormat.CSV and not run.encoding:
        table.encoding = detect_encoding(path)
        _save_progress(run, claim, encoding=table.encoding)
    header_row, header = table.find_header(run.mapping)
    resolved = resolve(header, run.mapping)
    if resolved.missing:
        raise SourceError("mapping_header_missing", columns=", ".join(h for _f, h in resolved.missing))
    if resolved.absent_required:
        raise SourceError("columns_missing", columns=", ".join(
            f"{FIELDS[f].label} ({FIELDS[f].headers[0]})" for f in resolved.absent_required))
    if run.header_row is None:
        _save_progress(run, claim, header_row=header_row, columns=resolved.columns)
    elif run.header_row != header_row or run.columns != resolved.columns:
        raise SourceError("file_unreadable", row=header_row, detail="the header changed since the run started")
    if run.rows_total is None:
        _save_progress(run, claim, rows_total=table.count(header_row))
    return table, resolved.index


def _remember(ctx: Context, table: Table) -> None:
    """A resumed run learns the numbers of the rows it already read, for duplicates within the file."""
    if not ctx.run.position:
        return
    with table.rows(ctx.run.header_row) as rows:
        for position, line, cells in rows:
            if position >= ctx.run.position:
                break
            number = cell_text(ctx.cell(cells, "external_ref"))
            if number:
                ctx.seen.setdefault(ctx.key(ctx.channel_of(cells) or ctx.run.channel, number), line)


def import_run_execute(*, run: ImportRun | int, batch_size: int = BATCH_SIZE, max_rows: int | None = None,
                       on_batch: Callable[[ImportRun, float], None] | None = None) -> ImportRun:
    """Execute a queued run from its position to the end, a stop, or `max_rows` more rows (then it is stopped
    and can be resumed). Returns the run as it ended. The task queue calls this; so does `import_cases`."""
    run_id = run.pk if isinstance(run, ImportRun) else run
    claimed = _claim(run_id, clock.now())
    if claimed is None:
        return ImportRun.objects.get(pk=run_id)
    run, claim = claimed
    try:
        with _local_file(run) as path, _big_cache():
            table, index = _open(run, path, claim)
            ctx = Context(run, index)
            _remember(ctx, table)
            left = max_rows
            with table.rows(run.header_row, run.position) as rows:
                while left is None or left > 0:
                    take = batch_size if left is None else min(batch_size, left)
                    chunk = _take(rows, take)
                    if not chunk:
                        return _finish(ctx.run, claim, clock.now())
                    started = time.perf_counter()
                    now = clock.now()
                    batch = prepare_batch(ctx, chunk, now)
                    if left is not None:
                        left -= len(chunk)
                    for attempt in (1, 2):
                        try:
                            run = _commit(ctx, claim, batch, now, stop=left == 0)
                            break
                        except IntegrityError:
                            # Another import wrote one of these numbers between the check and the insert: the
                            # second pass finds it already imported.
                            if attempt == 2:
                                raise
                    ctx.seen.update(batch.seen)
                    if on_batch is not None:
                        on_batch(run, time.perf_counter() - started)
                    if run.status == RunStatus.STOPPED:
                        return run
            return run
    except _Superseded:
        return ImportRun.objects.get(pk=run_id)
    except SourceError as problem:
        return _fail(run, claim, problem.code, problem.params, clock.now())
    except Exception as exc:
        log.exception("import run %s failed", run_id)
        _fail(run, claim, "internal", {"detail": f"{type(exc).__name__}: {exc}"[:500]}, clock.now())
        raise


@contextlib.contextmanager
def _big_cache():
    """On SQLite, while the run writes: a page cache of 256 MB and the database file mapped into memory, so the
    index pages of a table of millions of cases are not read again through the file for every batch; and the
    write-ahead log copied into the database every 400 MB instead of every 4 MB, so an index page that several
    batches change is copied once."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        cache = cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_autocheckpoint")
        checkpoint = cursor.fetchone()[0]
        cursor.execute("PRAGMA mmap_size")
        mapped = cursor.fetchone()  # no answer where SQLite was built without memory mapping
        cursor.execute("PRAGMA cache_size = -262144")
        cursor.execute("PRAGMA wal_autocheckpoint = 100000")
        if mapped is not None:
            cursor.execute("PRAGMA mmap_size = 2147418112")  # the most common builds allow
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")
            if mapped is not None:
                cursor.execute(f"PRAGMA mmap_size = {int(mapped[0])}")


def _take(rows: Iterator, n: int) -> list:
    chunk = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= n:
            break
    return chunk
