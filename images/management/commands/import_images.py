"""Batch import (the original's push_images.sh): every named image in many archives or a folder of them."""

from django.core.management.base import BaseCommand, CommandError

from images.management.progress import factory
from images.services import archives


class Command(BaseCommand):
    help = "Import every tagged image of the given archives (docker save tarballs, oci-archives, OCI layouts)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="archives, OCI layout folders, or folders holding them")
        parser.add_argument("--namespace", default="", help="import under NAMESPACE/ (library/foo -> NAMESPACE/foo)")

    def handle(self, *args, **options):
        failures = 0

        def report(path, imported, error):
            nonlocal failures
            if error is not None:
                failures += 1
                self.stderr.write(f"{path}: {error}")
            for item in imported:
                self.stdout.write(f"{path}: {item.line()}")
            if error is None and not imported:
                self.stdout.write(f"{path}: no named image (use import_image SOURCE REPO[:TAG])")

        results = archives.import_many(
            options["paths"], namespace=options["namespace"], progress=factory(self.stdout), on_result=report
        )
        images = sum(len(imported) for _, imported, _ in results)
        self.stdout.write(f"imported {images} image(s) from {len(results)} archive(s), {failures} failed")
        if failures:
            raise CommandError(f"{failures} archive(s) failed", returncode=1)
