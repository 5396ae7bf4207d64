"""fsck: re-hash stored blobs; exit status 1 when any is missing or corrupt."""

from django.core.management.base import BaseCommand, CommandError

from images.errors import RegistryError
from images.management.progress import factory
from images.services import verify


class Command(BaseCommand):
    help = "Re-hash stored blobs (all, a sample or the given digests); report missing or corrupt ones."

    def add_arguments(self, parser):
        parser.add_argument("digests", nargs="*", help="only these digests")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--sample", type=int, help="check this many blobs picked at random")
        group.add_argument("--percent", type=float, help="check this percentage of blobs, picked at random")
        parser.add_argument("--seed", type=int, help="random seed for --sample/--percent (repeatable picks)")
        parser.add_argument(
            "--quarantine",
            action="store_true",
            help="move corrupt bytes to quarantine/ and unlink bad blobs so the next push uploads them again",
        )

    def handle(self, *args, **options):
        if options["sample"] is not None and options["sample"] < 1:
            raise CommandError("--sample must be at least 1")
        try:
            result = verify.verify(
                digest_list=options["digests"],
                sample=options["sample"],
                percent=options["percent"],
                quarantine=options["quarantine"],
                seed=options["seed"],
                progress=factory(self.stdout),
            )
        except RegistryError as exc:
            raise CommandError(exc.message) from None
        for problem in result.problems:
            self.stdout.write(problem.line())
        self.stdout.write(result.summary())
        if not result.ok:
            raise CommandError(f"{len(result.problems)} blob(s) missing or corrupt", returncode=1)
