import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.core.errors import DomainError
from yiwang.geo.transfer import ImportRejected, regions_import


class Command(BaseCommand):
    help = "Import regions and grids from a GeoJSON FeatureCollection, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a GeoJSON file (see yiwang/geo/transfer.py for the properties)")
        parser.add_argument("--as-user", help="import as this user, within their scope (default: the system)")

    def handle(self, *args, file, as_user=None, **options):
        from yiwang.accounts.models import User

        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user %(u)s.") % {"u": as_user})
        try:
            with open(file, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(_("Cannot read %(f)s: %(e)s") % {"f": file, "e": exc}) from None
        try:
            report = regions_import(actor=actor, data=data, source=file)
        except ImportRejected as exc:
            lines = [_("The file was rejected; nothing was imported.")]
            lines += [_("feature #%(n)s %(code)s: %(reason)s") % {"n": e["feature"], "code": e.get("code") or "",
                                                                  "reason": e["reason"]} for e in exc.errors]
            raise CommandError("\n".join(lines)) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from None
        self.stdout.write(_("Imported: %(c)d created, %(u)d updated, %(n)d unchanged.") % {
            "c": report.created, "u": report.updated, "n": report.unchanged})
