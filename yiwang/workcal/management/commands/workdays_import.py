import csv
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.core.errors import DomainError
from yiwang.workcal import services

TRUE = {"1", "true", "yes", "y", "是", "班", "上班"}
FALSE = {"0", "false", "no", "n", "否", "休", "放假", "休息"}


def read_rows(file: str) -> list[dict]:
    """The CSV's rows as {date, is_workday, name, note}; CommandError naming every bad line."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
            if "date" not in header or "is_workday" not in header:
                raise CommandError(_("%(f)s: the first line must name the columns date,is_workday,name.") % {"f": file})
            reader.fieldnames = header
            lines = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(_("Cannot read %(f)s: %(e)s") % {"f": file, "e": exc}) from None
    rows, errors, seen = [], [], set()
    for line, row in lines:
        raw_date, raw_flag = (row.get("date") or "").strip(), (row.get("is_workday") or "").strip().lower()
        if not raw_date and not raw_flag and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        try:
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors.append(_("line %(n)d: %(v)r is not a date (YYYY-MM-DD).") % {"n": line, "v": raw_date})
            continue
        if raw_flag not in TRUE | FALSE:
            errors.append(_("line %(n)d: is_workday must be 1 or 0, not %(v)r.") % {"n": line, "v": raw_flag})
            continue
        if day in seen:
            errors.append(_("line %(n)d: %(d)s appears twice.") % {"n": line, "d": day.isoformat()})
            continue
        seen.add(day)
        rows.append({"date": day, "is_workday": raw_flag in TRUE, "name": (row.get("name") or "").strip(),
                     "note": (row.get("note") or "").strip(), "line": line})
    if errors:
        raise CommandError("\n".join([_("The file was rejected; nothing was imported."), *errors]))
    return rows


class Command(BaseCommand):
    help = ("Import holidays and make-up working days from a CSV file with the columns date,is_workday,name "
            "(and optionally note), all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="a UTF-8 CSV file: date (YYYY-MM-DD), is_workday (1 or 0), name[, note]")
        parser.add_argument("--as-user", help="import as this user (default: the system)")

    def handle(self, *args, file, as_user=None, **options):
        from yiwang.accounts.models import User

        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user %(u)s.") % {"u": as_user})
        rows = read_rows(file)
        line = None
        try:
            with transaction.atomic():
                for row in rows:
                    line = row.pop("line")
                    services.workday_override_save(actor=actor, reason=_("imported from %(f)s") % {"f": file},
                                                   **row)
        except DomainError as exc:
            raise CommandError(_("line %(n)s: %(m)s [%(c)s]; nothing was imported.") % {
                "n": line, "m": exc.message, "c": exc.code}) from None
        self.stdout.write(_("Imported %(n)d dates.") % {"n": len(rows)})
