from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from yiwang.core.journal import journal_verify
from yiwang.core.models import AuditEntry


class Command(BaseCommand):
    help = ("Check the journal's hash chain: exit 0 if every entry links to the one before it and matches its "
            "hash, 1 naming the first entry that does not.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start_id", type=int, metavar="ID",
                            help="start at this entry id, trusting the entries before it (default: the first)")

    def handle(self, *args, start_id=None, **options):
        report = journal_verify(start_id=start_id)
        if report.ok:
            self.stdout.write(f"journal intact: {report.checked} entries, last hash {report.last_hash or '(none)'}")
            return
        entry = AuditEntry.objects.get(pk=report.first_broken_id)
        when = timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S")
        subject = entry.object_repr or f"{entry.object_type} {entry.object_id}"
        raise CommandError(
            f"journal broken at entry #{entry.id} ({when}, {entry.action}, {subject}): {report.reason}; "
            f"{report.checked} entries before it are intact", returncode=1)
