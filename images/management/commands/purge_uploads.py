"""Delete abandoned upload sessions and their staging bytes."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from images import durations
from images.management.progress import factory
from images.services import uploads_purge


class Command(BaseCommand):
    help = "Delete upload sessions untouched for a while, and staging bytes no session owns."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", default="1d", help="idle time after which a session is abandoned (1d)")
        parser.add_argument("--dry-run", action="store_true", help="only report what would be purged")

    def handle(self, *args, **options):
        try:
            age = durations.parse(options["older_than"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        result = uploads_purge.purge(timezone.now() - age, dry_run=options["dry_run"], progress=factory(self.stdout))
        self.stdout.write(result.summary())
