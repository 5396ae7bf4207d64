"""Rebuild the catalog's kept counts (tags and bytes per repository, blob and manifest totals) and the
storage snapshot from the rows; garbage collection does the same at the end of every run."""

from django.core.management.base import BaseCommand

from images import counters


class Command(BaseCommand):
    help = "Recount tags and bytes per repository, the blob/manifest totals and the storage snapshot."

    def handle(self, *args, **options):
        counters.recount()
        t = counters.totals()
        self.stdout.write(
            f"Recounted: {t['blobs']} blobs ({t['blob_bytes']} bytes), {t['manifests']} manifests; "
            "tags and bytes of every repository; the storage snapshot."
        )
