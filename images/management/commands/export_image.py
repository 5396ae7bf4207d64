"""Export an image to a tarball `docker load` accepts, an OCI image layout folder or an oci-archive."""

from django.core.management.base import BaseCommand, CommandError

from images import archive_formats
from images.errors import RegistryError
from images.management.progress import factory
from images.services import archives


class Command(BaseCommand):
    help = "Export REPO:TAG (or REPO@DIGEST) to DEST: docker-archive for files, OCI layout for folders."

    def add_arguments(self, parser):
        parser.add_argument("image", help="REPO:TAG or REPO@sha256:...")
        parser.add_argument("dest", help="file (.tar), folder (OCI layout; ends with / or exists), or - for stdout")
        parser.add_argument("--format", choices=["docker-archive", "oci", "oci-archive"], help="override the guess")
        parser.add_argument("--platform", default="linux/amd64", help="for docker-archive of an index (linux/amd64)")
        parser.add_argument("--tag-as", action="append", help="RepoTags in a docker-archive (default REPO:TAG)")

    def handle(self, *args, **options):
        text = options["image"]
        try:
            if "@" in text:
                name, reference = text.split("@", 1)
                repository, _ = archive_formats.parse_target(name)
            else:
                repository, reference = archive_formats.parse_target(text)
                reference = reference or "latest"
            extra = {"repo_tags": options["tag_as"]} if options["tag_as"] else {}
            if extra and (options["format"] or "docker-archive") != "docker-archive":
                raise CommandError("--tag-as only applies to docker-archive")
            progress = factory(self.stdout) if options["dest"] != "-" else factory(self.stdout, force=False)
            result = archives.export_image(
                repository,
                reference,
                options["dest"],
                format=options["format"],
                platform=options["platform"],
                progress=progress,
                **extra,
            )
        except archives.ArchiveError as exc:
            raise CommandError(str(exc)) from None
        except RegistryError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        if options["dest"] != "-":
            self.stdout.write(result.line())
        else:
            self.stderr.write(result.line())
