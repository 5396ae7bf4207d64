"""Apply the retention rules now (the schedule does it daily), or show what they would remove.

manage.py apply_retention [--namespace team] [--dry-run] [--json]
"""

import json

from django.core.management.base import BaseCommand

from policies import sizes
from policies.services import retention


class Command(BaseCommand):
    help = "Remove the tags and manifests the retention rules don't keep (--dry-run: only list them)."

    def add_arguments(self, parser):
        parser.add_argument("--namespace", help="only this namespace")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, **options):
        record = retention.run(options["namespace"], dry_run=options["dry_run"], triggered_by="manage.py")
        data = retention.run_as_dict(record)
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        verb = "Would remove" if record.dry_run else "Removed"
        for item in record.items:
            what = f"tag {item['tag']}" if item["kind"] == "tag" else f"manifest {item['digest']}"
            self.stdout.write(f"{verb} {item['repository']} {what}  ({item['rule']})")
        self.stdout.write(
            f"{verb} {record.tags_removed} tags and {record.manifests_removed} manifests; "
            f"{sizes.human(record.bytes_freed)} freed once garbage collection runs (run #{record.pk})."
        )
