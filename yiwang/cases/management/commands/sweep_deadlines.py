from django.core.management.base import BaseCommand

from yiwang.cases.services import deadline_sweep


class Command(BaseCommand):
    help = "Mark deadline warnings and breaches due by now, exactly once (the task queue runs this every minute)."

    def handle(self, *args, **options):
        result = deadline_sweep()
        self.stdout.write(f"warned {result.warned}, breached {result.breached}, escalated {result.escalated}, "
                          f"supervised {result.supervised}")
