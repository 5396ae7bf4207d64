"""Online garbage collection (images/services/gc.py explains the protocol). Safe while people push.

A worker (`manage.py worker`, or `make run`'s embedded one) runs it hourly already (images/schedule.py,
BERTH_SCHEDULE_GARBAGE_COLLECT); this command is for a run now, or from cron where you prefer it.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from images import durations
from images.conf import registry_setting
from images.management.progress import factory
from images.services import gc


class Command(BaseCommand):
    help = "Delete blobs, manifests, links and upload sessions that nothing references (online, no read-only mode)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would go and the bytes freed")
        parser.add_argument(
            "--delete-untagged",
            action="store_true",
            help="also collect manifests no tag reaches (directly, as index children or as referrers)",
        )
        parser.add_argument(
            "--grace",
            default=None,
            help="leave anything younger than this (default REGISTRY GC_GRACE, 2h); e.g. 0s, 30m, 2h, 1d",
        )
        parser.add_argument("--loop", metavar="INTERVAL", help="run again every INTERVAL (e.g. 1h) until stopped")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        try:
            grace = durations.parse(options["grace"] or registry_setting("GC_GRACE"))
            interval = durations.parse(options["loop"]) if options["loop"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        progress = factory(self.stdout)
        while True:
            result, record = gc.run(
                grace,
                dry_run=options["dry_run"],
                delete_untagged=options["delete_untagged"],
                triggered_by="manage.py garbage_collect",
                progress=progress,
            )
            if options["json"]:
                self.stdout.write(json.dumps({**result.as_dict(), "run": record.pk}))
            else:
                if result.dry_run:
                    for kind, digests in result.samples.items():
                        for digest in digests:
                            self.stdout.write(f"would delete {kind[:-1]} {digest}")
                self.stdout.write(result.summary())
            if interval is None:
                return
            time.sleep(interval.total_seconds())
