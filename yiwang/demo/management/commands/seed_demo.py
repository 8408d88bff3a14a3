import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.demo.services import DEMO_PASSWORD, demo_accounts, demo_city_build, demo_loaded


class Command(BaseCommand):
    help = "Build the demo city (Panjin-shaped: 4 districts, 48 streets, 538 communities, 4,642 grids) once."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2022, help="random seed (same seed, same city)")
        parser.add_argument("--if-missing", action="store_true", help="do nothing if the demo city is loaded")

    def handle(self, *args, seed, if_missing, **options):
        if demo_loaded():
            if not if_missing:
                raise CommandError(_("The demo city is already loaded."))
            self.stdout.write(_("The demo city is already loaded."))
        else:
            started = time.perf_counter()
            report = demo_city_build(seed=seed)
            self.stdout.write(
                _("Demo city built in %(s).1f s: %(r)d regions, %(g)d grids, %(u)d units, %(p)d people.") % {
                    "s": time.perf_counter() - started, "r": report.regions, "g": report.grids, "u": report.units,
                    "p": report.users}
            )
        self.stdout.write(_("Demo accounts (password %(pw)s):") % {"pw": DEMO_PASSWORD})
        for username, real_name, role, scope in demo_accounts():
            self.stdout.write(f"  {username:<12} {real_name:<4} {role:<10} {scope}")
