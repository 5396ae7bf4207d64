"""Import an image from a `docker save` tarball, an oci-archive or an OCI image layout folder."""

from django.core.management.base import BaseCommand, CommandError

from images import archive_formats
from images.errors import RegistryError
from images.management.progress import factory
from images.services import archives


class Command(BaseCommand):
    help = "Import SOURCE (docker save tarball, oci-archive, OCI layout folder, or - for stdin) as REPO[:TAG]."

    def add_arguments(self, parser):
        parser.add_argument("source", help="tarball (.tar, .tar.gz), OCI layout folder, or - (stdin)")
        parser.add_argument("target", help="REPO[:TAG]; without TAG the archive's own tag, else latest")
        parser.add_argument(
            "--image", default="", help="which image of a multi-image archive (its repo:tag or OCI ref name)"
        )

    def handle(self, *args, **options):
        try:
            repository, tag = archive_formats.parse_target(options["target"])
            done = archives.import_archive(
                options["source"], repository, tag, select=options["image"], progress=factory(self.stdout)
            )
        except archives.ArchiveError as exc:
            raise CommandError(str(exc)) from None
        except RegistryError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.detail or ''}".strip()) from None
        for item in done:
            self.stdout.write(item.line())
