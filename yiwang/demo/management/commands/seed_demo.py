import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.demo.history import HistoryImpossible, demo_history_build, history_loaded
from yiwang.demo.services import (
    DEMO_OPEN311_KEY,
    DEMO_PASSWORD,
    demo_accounts,
    demo_city_build,
    demo_loaded,
    demo_open311_client,
)


class Command(BaseCommand):
    help = ("Build the demo city (Panjin-shaped: 4 districts, 48 streets, 538 communities, 4,642 grids) once, "
            "with a history of cases made through the real case services.")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2022, help="random seed (same seed, same city and history)")
        parser.add_argument("--if-missing", action="store_true",
                            help="do nothing if the demo city is loaded (but build its case history if it has none)")
        parser.add_argument("--cases", type=int, default=3000, help="cases in the history (0: none)")

    def handle(self, *args, seed, if_missing, cases, **options):
        if cases < 0:
            raise CommandError(_("--cases cannot be negative."))
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
        if cases and not history_loaded():
            try:
                history = demo_history_build(cases=cases, seed=seed)
            except HistoryImpossible as reason:
                # A city loaded before the case loop lacks its desks; it still serves, without a history.
                self.stderr.write(_("No case history: %(reason)s Delete the database and run seed_demo again to "
                                    "get one.") % {"reason": reason})
            else:
                self.stdout.write(_("Case history built in %(s).1f s: %(n)d cases.") % {
                    "s": history.seconds, "n": history.cases})
        self.stdout.write(_("Demo accounts (password %(pw)s):") % {"pw": DEMO_PASSWORD})
        for username, real_name, role, scope in demo_accounts():
            self.stdout.write(f"  {username:<12} {real_name:<4} {role:<10} {scope}")
        if demo_open311_client() is not None:
            self.stdout.write(_("Open311 API key for the whole demo city (demo only): %(key)s") % {
                "key": DEMO_OPEN311_KEY})
