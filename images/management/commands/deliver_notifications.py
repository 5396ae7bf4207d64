"""Deliver webhook notifications that are due, now. Workers do this every minute (images/schedule.py's
webhook_retries job) and send each delivery as a task; this is the manual way (or cron's)."""

import time

from django.core.management.base import BaseCommand, CommandError

from images import durations
from images.services import notifications


class Command(BaseCommand):
    help = "POST pending webhook deliveries whose time has come; --loop keeps doing it."

    def add_arguments(self, parser):
        parser.add_argument("--loop", metavar="INTERVAL", help="repeat every INTERVAL (e.g. 10s) until stopped")
        parser.add_argument("--limit", type=int, default=1000, help="at most this many per pass")

    def handle(self, *args, **options):
        try:
            interval = durations.parse(options["loop"]) if options["loop"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        while True:
            counts = notifications.deliver_due(limit=options["limit"])
            self.stdout.write(
                f"delivered {counts['delivered']}, retrying {counts['pending']}, failed {counts['failed']}"
            )
            if interval is None:
                return
            time.sleep(interval.total_seconds())
