from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.core.errors import DomainError
from yiwang.org.catalogue_csv import FIXTURE
from yiwang.org.services import CatalogueImportRejected, catalogue_load_csv


class Command(BaseCommand):
    help = ("Load a category catalogue file (CSV, see yiwang/org/catalogue_csv.py) as a new catalogue version, "
            "all or nothing, and activate it.")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(FIXTURE),
                            help="the CSV file (default: the national catalogue, yiwang/org/fixtures/categories.csv)")
        parser.add_argument("--region", help="division code of the jurisdiction (default: national)")
        parser.add_argument("--no-activate", action="store_true", help="leave the new version as a draft")
        parser.add_argument("--name", default="", help="the catalogue's name")
        parser.add_argument("--as-user", help="load as this user, within their permissions (default: the system)")

    def handle(self, *args, file, region=None, no_activate=False, name="", as_user=None, **options):
        from yiwang.accounts.models import User
        from yiwang.geo.models import Region

        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user, is_active=True).first()
            if actor is None:
                raise CommandError(_("No active user %(u)s.") % {"u": as_user})
        jurisdiction = None
        if region:
            jurisdiction = Region.objects.filter(code=region).first()
            if jurisdiction is None:
                raise CommandError(_("No region with code %(c)s.") % {"c": region})
        try:
            catalogue = catalogue_load_csv(actor=actor, path_or_file=file, region=jurisdiction, name=name,
                                           activate=not no_activate, reason=f"load_categories {file}")
        except CatalogueImportRejected as exc:
            lines = [_("The file was rejected; nothing was imported.")]
            lines += [_("row %(n)s %(code)s: %(reason)s") % {"n": e["row"], "code": e.get("code") or "",
                                                             "reason": e["reason"]} for e in exc.errors]
            raise CommandError("\n".join(lines)) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from None
        self.stdout.write(_("Loaded %(c)s (%(s)s) with %(n)d categories.") % {
            "c": catalogue, "s": catalogue.get_status_display(), "n": catalogue.categories.count()})
