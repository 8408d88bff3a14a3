import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.command import aggregates


class Command(BaseCommand):
    help = ("Rebuild the command centre's rollups from the cases table; with --check, compare the live rollups "
            "with a recount instead and exit 1 listing every difference.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="compare only (the recount is rolled back); exit 1 if anything differs")

    def handle(self, *args, check, **options):
        started = time.perf_counter()
        if check:
            differences = aggregates.check()
            for line in differences:
                self.stdout.write(line)
            if differences:
                raise CommandError(_("%(n)d rollup rows differ from a recount.") % {"n": len(differences)},
                                   returncode=1)
            self.stdout.write(_("The rollups equal a recount (%(s).1f s).") % {"s": time.perf_counter() - started})
            return
        rows = aggregates.recount()
        self.stdout.write(_("Rollups rebuilt in %(s).1f s: %(rows)s.") % {
            "s": time.perf_counter() - started, "rows": ", ".join(f"{k} {v:,}" for k, v in rows.items())})
