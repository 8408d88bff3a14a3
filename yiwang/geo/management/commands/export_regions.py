import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.geo.models import Region
from yiwang.geo.transfer import regions_export


class Command(BaseCommand):
    help = "Export regions and grids as GeoJSON (to a file or standard output)."

    def add_arguments(self, parser):
        parser.add_argument("--root", help="division code of the subtree to export (default: everything)")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, root=None, output=None, **options):
        root_region = None
        if root:
            root_region = Region.objects.filter(code=root).first()
            if root_region is None:
                raise CommandError(_("No region with code %(c)s.") % {"c": root})
        data = regions_export(actor=None, root=root_region)
        if not output:
            json.dump(data, sys.stdout, ensure_ascii=False)
            return
        with open(output, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        if output:
            self.stderr.write(_("%(n)d features written to %(f)s.") % {"n": len(data["features"]), "f": output})
