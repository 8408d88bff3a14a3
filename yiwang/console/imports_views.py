"""The staff pages for bulk imports of hotline (12345/8890) and legacy cases: the runs in my scope with an upload
form, and one run with its live progress, stop and resume, and its refused rows.

Every write goes through yiwang.imports.services (create, stop, resume); reads through its selectors. The only
other thing done here is reading the header row of an uploaded file before it is handed over, with the very
functions the run uses (readers.Table.find_header, mapping.resolve), so a file whose columns do not fit is
refused next to the field at once instead of failing in the queue a moment later."""

from __future__ import annotations

import codecs
import contextlib
import functools
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.accounts.policies import can
from yiwang.cases.choices import Channel
from yiwang.console.views import _is_htmx, _nav, console_page
from yiwang.core.errors import DomainError, NotFound
from yiwang.imports import services
from yiwang.imports.choices import ACTIVE, RESUMABLE, Crs, FileFormat, RunStatus
from yiwang.imports.mapping import FIELDS, resolve
from yiwang.imports.messages import row_message, run_message
from yiwang.imports.models import ImportRowError
from yiwang.imports.readers import SourceError, Table, sniff_format
from yiwang.imports.selectors import (
    import_errors_csv,
    import_run_get_for,
    import_run_list_for,
    import_run_progress,
)

PAGE_SIZE = 25
ERRORS_SHOWN = 50  # the page lists the first refused rows; the report has them all
AUTO, LEAVE_OUT = "", "-"  # the mapping selects' two choices besides a column of the file
LIVE = {RunStatus.QUEUED, *ACTIVE}


def imports_page(view):
    """Signed-in staff who may follow imports; a run out of scope is the console's 404 page."""
    @console_page
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            if not can(request.user, "imports.view_importrun"):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        except PermissionDenied:
            return render(request, "console/imports_forbidden.html", _nav(request, ""), status=403)
    return wrapped


# --- the upload form -----------------------------------------------------------------------------------------

@dataclass
class UploadForm:
    channel: str = Channel.HOTLINE
    crs: str = Crs.WGS84
    choices: dict[str, str] = field(default_factory=dict)  # field → AUTO, LEAVE_OUT or a header of the file
    header: list[str] | None = None  # the file's header row, once read
    detected: dict[str, str] = field(default_factory=dict)  # field → the header the automatic mapping takes
    errors: dict[str, list[str]] = field(default_factory=dict)
    file_name: str = ""

    @classmethod
    def from_post(cls, data) -> UploadForm:
        form = cls(channel=data.get("channel") or Channel.HOTLINE, crs=data.get("crs") or Crs.WGS84)
        for name in FIELDS:
            value = (data.get(f"map_{name}") or "").strip()
            if value:
                form.choices[name] = value
        return form

    def mapping(self) -> dict[str, str | None]:
        return {name: (None if value == LEAVE_OUT else value) for name, value in self.choices.items()}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def rows(self) -> list[dict]:
        """One line per field of ours for the mapping table."""
        return [{"name": name, "label": f.label, "required": f.required, "chosen": self.choices.get(name, AUTO),
                 "detected": self.detected.get(name, ""), "errors": self.errors.get(f"map_{name}", [])}
                for name, f in FIELDS.items()]


def _head_encoding(path: str) -> str:
    """The encoding of a CSV from its first 256 KB (the run checks the whole file before it reads a row)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 18)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


@contextlib.contextmanager
def _upload_path(upload):
    """A path to the uploaded file on disk (big uploads already are; small ones are copied)."""
    path = getattr(upload, "temporary_file_path", None)
    if path is not None:
        yield path()
        return
    upload.seek(0)
    with tempfile.NamedTemporaryFile(suffix=os.path.splitext(upload.name or "")[1]) as copy:
        shutil.copyfileobj(upload, copy, 1 << 20)
        copy.flush()
        upload.seek(0)
        yield copy.name


def read_columns(form: UploadForm, upload) -> None:
    """Read the file's header row and check the chosen mapping against it, as the run will. Problems go into
    form.errors, in the service's words where it has them."""
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if not head:
        form.add("file", gettext("The file is empty."))
        return
    file_format = sniff_format(head)
    if file_format is None:
        form.add("file", run_message("file_type", {}))
        return
    form.file_name = os.path.basename(upload.name or "")
    mapping = form.mapping()
    try:
        with _upload_path(upload) as path:
            table = Table(path=path, file_format=file_format,
                          encoding=_head_encoding(path) if file_format == FileFormat.CSV else "")
            try:
                _row, header = table.find_header(mapping)
            except SourceError as problem:
                if problem.code != "header_missing":
                    raise
                # No row names the description column: show the first row's cells to map them by hand.
                with table.records() as records:
                    header = next(iter(records), [])
                form.add("file", run_message("header_missing", {}))
    except SourceError as problem:
        form.add("file", run_message(problem.code, problem.params))
        return
    except (UnicodeDecodeError, OSError, ValueError) as exc:
        form.add("file", run_message("file_unreadable", {"row": 1, "detail": str(exc)[:200]}))
        return
    form.header = [str(cell).replace("\ufeff", "").strip() for cell in header if cell not in (None, "")]
    form.detected = resolve(header, {}).columns
    resolved = resolve(header, mapping)
    for name, wanted in resolved.missing:
        form.add(f"map_{name}", gettext("The file has no column %(c)s.") % {"c": wanted})
    missing = {name for name, _wanted in resolved.missing}
    for name in resolved.absent_required:
        if name in missing:
            continue
        if form.choices.get(name) == LEAVE_OUT:
            form.add(f"map_{name}", gettext("%(f)s is required; it cannot be left out.") % {"f": FIELDS[name].label})
        else:
            form.add(f"map_{name}", gettext("No column was found for %(f)s; choose the column that holds it.")
                     % {"f": FIELDS[name].label})


def _form_context(form: UploadForm) -> dict:
    return {"form": form, "channels": Channel.choices, "crs_choices": Crs.choices, "mapping_rows": form.rows(),
            "auto": AUTO, "leave_out": LEAVE_OUT}


# --- the runs ------------------------------------------------------------------------------------------------

# The pages' own words for a run's state (the model's "running" reads 计时中, a clock's, in Chinese).
STATUS_LABELS = {
    RunStatus.QUEUED: _("waiting in the queue"), RunStatus.RUNNING: _("importing"),
    RunStatus.STOPPING: _("stopping after the current batch"), RunStatus.STOPPED: _("stopped"),
    RunStatus.FINISHED: _("finished"), RunStatus.FAILED: _("failed"),
}


def _with_progress(run):
    run.progress = import_run_progress(run)
    run.live = run.status in LIVE
    run.status_label = STATUS_LABELS.get(run.status, run.status)
    return run


def _list_context(request, form: UploadForm) -> dict:
    actor = request.user
    paginator = Paginator(import_run_list_for(actor=actor), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    for run in page.object_list:
        _with_progress(run)
    return {**_nav(request, "imports"), **_form_context(form), "page": page, "runs": page.object_list,
            "any_live": any(run.live for run in page.object_list), "may_upload": can(actor, "imports.add_importrun")}


@imports_page
@require_http_methods(["GET", "POST"])
def import_list(request):
    if request.method == "GET":
        template = "console/_import_runs.html" if request.GET.get("part") == "runs" else "console/imports.html"
        return render(request, template, _list_context(request, UploadForm()))
    if not can(request.user, "imports.add_importrun"):
        raise PermissionDenied
    form = UploadForm.from_post(request.POST)
    upload = request.FILES.get("file")
    if form.channel not in Channel.values:
        form.add("channel", gettext("Unknown channel."))
    if form.crs not in Crs.values:
        form.add("crs", gettext("Unknown coordinate system."))
    if upload is None:
        form.add("file", gettext("Choose a CSV or XLSX file."))
    else:
        read_columns(form, upload)
    if not form.errors:
        try:
            run = services.import_run_create(actor=request.user, file=upload, file_name=upload.name,
                                             mapping=form.mapping(), channel=form.channel, crs=form.crs)
        except DomainError as error:
            fields = error.fields or {"file": [error.message]}
            for name, problems in fields.items():
                for problem in problems:
                    form.add("map_" + name if name in FIELDS else (name or "file"), str(problem))
        else:
            messages.success(request, gettext("Import %(n)s of %(f)s has started.") % {"n": run.pk, "f": run.file_name})
            return redirect("console:import", pk=run.pk)
    if upload is not None and "file" not in form.errors:
        form.add("file", gettext("Choose the file again: a browser does not keep it when the form comes back."))
    return render(request, "console/imports.html", _list_context(request, form), status=400)


@imports_page
@require_POST
def import_columns(request):
    """The mapping table for the file just chosen (the page asks for it as soon as a file is picked)."""
    if not can(request.user, "imports.add_importrun"):
        raise PermissionDenied
    form = UploadForm.from_post(request.POST)
    upload = request.FILES.get("file")
    if upload is not None:
        read_columns(form, upload)
    return render(request, "console/_import_mapping.html", _form_context(form))


def _errors_of(run) -> list[dict]:
    rows = (ImportRowError.objects.filter(run=run).order_by("row", "id")
            .values("row", "number", "column", "code", "params")[:ERRORS_SHOWN])
    return [{**r, "message": row_message(r["code"], r["params"] or {})} for r in rows]


def _run_context(request, run) -> dict:
    _with_progress(run)
    may_change = can(request.user, "imports.change_importrun")
    return {**_nav(request, "imports"), "run": run, "errors": _errors_of(run),
            "errors_shown": ERRORS_SHOWN, "columns": [(FIELDS[f].label, h) for f, h in (run.columns or {}).items()
                                                      if f in FIELDS],
            "may_stop": may_change and run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
            "may_resume": may_change and (run.status in (*RESUMABLE, RunStatus.STOPPING))}


@imports_page
@require_GET
def import_detail(request, pk: int):
    run = import_run_get_for(actor=request.user, pk=pk)
    context = _run_context(request, run)
    if _is_htmx(request):
        context["polled"] = True
        context["changed"] = request.GET.get("seen") != run.status
        return render(request, "console/_import_live.html", context)
    return render(request, "console/imports_run.html", context)


def _change(request, pk: int, service):
    run = import_run_get_for(actor=request.user, pk=pk)
    try:
        run = service(actor=request.user, run=run)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _DONE.get(run.status, _DONE[RunStatus.QUEUED]) % {"n": run.pk})
    return redirect(reverse("console:import", kwargs={"pk": pk}))


_DONE = {
    RunStatus.STOPPED: _("Import %(n)s is stopped; resume it to go on where it stopped."),
    RunStatus.STOPPING: _("Import %(n)s stops after the batch it is writing."),
    RunStatus.RUNNING: _("Import %(n)s goes on running."),
    RunStatus.QUEUED: _("Import %(n)s continues where it stopped."),
}


@imports_page
@require_POST
def import_stop(request, pk: int):
    return _change(request, pk, services.import_run_stop)


@imports_page
@require_POST
def import_resume(request, pk: int):
    return _change(request, pk, services.import_run_resume)


@imports_page
@require_GET
def import_errors(request, pk: int):
    """The whole error report (CSV, UTF-8 with BOM), in the reader's language."""
    run = import_run_get_for(actor=request.user, pk=pk)
    language = translation.get_language()

    def stream():
        with translation.override(language):
            yield from import_errors_csv(run)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors.csv"'
    return response

