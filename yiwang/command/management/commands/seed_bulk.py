from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.command.bulkseed import seed_bulk


class Command(BaseCommand):
    help = ("Write a big case history for the demo city straight into the tables (millions of cases in batches; "
            "one journal entry for the whole load), then rebuild the command centre's rollups.")

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="how many cases")
        parser.add_argument("--days", type=int, default=730, help="over how many days up to now (default 730)")
        parser.add_argument("--seed", type=int, default=2022, help="random seed")
        parser.add_argument("--batch", type=int, default=50_000, help="cases per transaction")

    def handle(self, *args, cases, days, seed, batch, **options):
        if cases <= 0 or days <= 0 or batch <= 0:
            raise CommandError(_("--cases, --days and --batch must be positive."))

        def progress(done, seconds):
            self.stdout.write(_("%(n)s cases in %(s).0f s") % {"n": f"{done:,}", "s": seconds})

        try:
            report = seed_bulk(cases=cases, days=days, seed=seed, batch=batch, progress=progress)
        except RuntimeError as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write(_("%(n)s cases written in %(i).1f s; rollups rebuilt in %(r).1f s (%(rows)s).") % {
            "n": f"{report.cases:,}", "i": report.seconds_insert, "r": report.seconds_recount,
            "rows": ", ".join(f"{k} {v:,}" for k, v in report.rollup_rows.items())})
