import json
import os

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.core.errors import DomainError
from yiwang.imports import services
from yiwang.imports.choices import Crs, RunStatus
from yiwang.imports.models import ImportRun
from yiwang.imports.selectors import import_run_progress


class Command(BaseCommand):
    help = ("Import hotline (8890/12345) and legacy cases from a CSV or XLSX file, in batches, here and now "
            "(the upload API runs the same import on the task queue). See README, \"Bulk import\".")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="a CSV (UTF-8, GB18030/GBK) or XLSX file")
        parser.add_argument("--mapping", help='our field → your column header: JSON text or a JSON file, e.g. '
                                              '\'{"description": "问题描述"}\'')
        parser.add_argument("--channel", default="hotline", help="channel of rows that name none (default hotline)")
        parser.add_argument("--crs", default=Crs.WGS84, choices=Crs.values,
                            help="coordinate system of the file's positions (default wgs84)")
        parser.add_argument("--as-user", help="import as this user, within their area (default: the system)")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="continue a stopped, failed or killed run")
        parser.add_argument("--stop-after", type=int, metavar="N", help="stop after N more rows (resume later)")
        parser.add_argument("--batch", type=int, default=services.BATCH_SIZE, help="rows per transaction")

    def handle(self, *args, file=None, mapping=None, channel="hotline", crs=Crs.WGS84, as_user=None, resume=None,
               stop_after=None, batch=services.BATCH_SIZE, **options):
        from yiwang.accounts.models import User

        if bool(file) == bool(resume):
            raise CommandError(_("Give a FILE to import, or --resume RUN_ID."))
        if stop_after is not None and stop_after < 1 or batch < 1:
            raise CommandError(_("--stop-after and --batch must be positive."))
        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user %(u)s.") % {"u": as_user})
        try:
            if resume:
                run = ImportRun.objects.filter(pk=resume).first()
                if run is None:
                    raise CommandError(_("No import run %(id)s.") % {"id": resume})
                run = services.import_run_resume(actor=actor, run=run, enqueue=False)
                self.stdout.write(_("Resuming run %(id)s at row %(done)s.") % {"id": run.pk, "done": run.rows_done})
            else:
                with open(file, "rb") as handle:
                    run = services.import_run_create(actor=actor, file=handle, file_name=os.path.basename(file),
                                                     mapping=_mapping(mapping), channel=channel, crs=crs,
                                                     enqueue=False)
                self.stdout.write(_("Import run %(id)s.") % {"id": run.pk})
            run = services.import_run_execute(run=run, batch_size=batch, max_rows=stop_after,
                                              on_batch=self._progress)
        except OSError as exc:
            raise CommandError(_("Cannot read %(f)s: %(e)s") % {"f": file, "e": exc}) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from None
        progress = import_run_progress(run)
        self.stdout.write(_("Run %(id)s %(status)s: %(done)s rows, %(ok)s cases created, %(skipped)s already "
                            "imported, %(failed)s refused, in %(s).1f s.") % {
            "id": run.pk, "status": RunStatus(run.status).label, "done": run.rows_done, "ok": run.rows_ok,
            "skipped": run.rows_skipped, "failed": run.rows_failed, "s": progress.seconds_running})
        if run.rows_failed or run.rows_skipped:
            self.stdout.write(_("Error report: GET /api/v1/imports/%(id)s/errors.csv") % {"id": run.pk})
        if run.status == RunStatus.STOPPED:
            self.stdout.write(_("Resume with: manage.py import_cases --resume %(id)s") % {"id": run.pk})
        if run.status == RunStatus.FAILED:
            raise CommandError(progress.message)

    def _progress(self, run, seconds):
        progress = import_run_progress(run)
        total = f"/{run.rows_total}" if run.rows_total is not None else ""
        self.stdout.write(f"  {run.rows_done}{total} rows ({progress.percent or 0:.1f}%), {run.rows_ok} created, "
                          f"{run.rows_skipped} skipped, {run.rows_failed} refused; batch {seconds:.2f} s"
                          + (f", {progress.rate:.0f} rows/s" if progress.rate else "")
                          + (f", {progress.eta_seconds:.0f} s left" if progress.eta_seconds is not None else ""))


def _mapping(value):
    if not value:
        return None
    text = value
    if not value.lstrip().startswith("{"):
        try:
            with open(value, encoding="utf-8-sig") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(_("Cannot read %(f)s: %(e)s") % {"f": value, "e": exc}) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(_("The mapping is not valid JSON: %(e)s") % {"e": exc}) from None
