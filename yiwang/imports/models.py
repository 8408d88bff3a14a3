"""An import run (导入批次): one uploaded CSV/XLSX file of hotline or legacy cases, read in batches by the task
queue. Its counters and `position` are written in the same transaction as each batch's cases, so a stopped or
killed run resumes exactly after its last committed batch. Rows are written only by yiwang.imports.services."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.cases.choices import Channel
from yiwang.core.scope import ScopeSpec
from yiwang.imports.choices import Crs, FileFormat, RunStatus


def import_file_path(instance, filename):
    return f"imports/{instance.created_at:%Y/%m}/{instance.token}{'.' + instance.file_format}"


class ImportRun(models.Model):
    token = models.CharField(max_length=32, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    # The common region of the importer's import roles: whoever may view imports over it sees the run.
    scope_path = models.CharField(_("path"), max_length=255, blank=True, db_index=True, editable=False)

    file = models.FileField(_("file"), upload_to=import_file_path, max_length=255)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8, choices=FileFormat.choices)
    file_size = models.PositiveBigIntegerField(_("size"))
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.HOTLINE)
    crs = models.CharField(_("coordinate system"), max_length=8, choices=Crs.choices, default=Crs.WGS84)
    mapping = models.JSONField(_("column mapping given"), default=dict, blank=True)
    columns = models.JSONField(_("columns used"), default=dict, blank=True, editable=False,
                               help_text=_("Our field → the file's header, as resolved when the run started."))
    header_row = models.PositiveIntegerField(_("header row"), null=True, blank=True, editable=False)

    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    rows_total = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    position = models.PositiveIntegerField(_("records read"), default=0, editable=False)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_ok = models.PositiveIntegerField(_("cases created"), default=0)
    rows_skipped = models.PositiveIntegerField(_("rows already imported"), default=0)
    rows_failed = models.PositiveIntegerField(_("rows refused"), default=0)
    batches = models.PositiveIntegerField(_("batches"), default=0)

    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last batch at"), null=True, blank=True)
    # The running session (a run stopped and resumed has several): for the rate and the time left.
    session_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    session_rows = models.PositiveIntegerField(default=0, editable=False)
    seconds_running = models.FloatField(_("seconds spent running"), default=0)
    # Which worker executes the run now; a batch commits only while the run still names it.
    claim = models.CharField(max_length=32, blank=True, editable=False)
    stop_after = models.PositiveIntegerField(null=True, blank=True, editable=False)

    failure_code = models.CharField(_("failure code"), max_length=32, blank=True)
    failure_params = models.JSONField(default=dict, blank=True, editable=False)

    scope = ScopeSpec(path="scope_path", owner="created_by")

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.file_name}"


class ImportRowError(models.Model):
    """One problem with one row: it goes to the run's error report. A row refused for several reasons has one
    entry each; a row already imported earlier has one entry with code `already_imported`."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    number = models.CharField(_("original number"), max_length=64, blank=True)
    column = models.CharField(_("column"), max_length=100, blank=True)
    code = models.CharField(_("code"), max_length=32)
    # The message is rendered when the report is read, in the reader's language.
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        ordering = ["run", "row", "id"]
        indexes = [models.Index(fields=["run", "row"])]

    def __str__(self):
        return f"{self.run_id} row {self.row}: {self.code}"
