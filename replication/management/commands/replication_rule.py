"""manage.py replication_rule add|list|remove: what is copied to or from which remote."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from replication import services
from replication.models import MODES, ReplicationRule


class Command(BaseCommand):
    help = "Replication rules: `add NAME --remote R --mode push|pull --repositories GLOB ...`, `list`, `remove NAME`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a rule")
        add.add_argument("name")
        add.add_argument("--remote", required=True)
        add.add_argument("--mode", required=True, choices=[m for m, _ in MODES])
        add.add_argument("--repositories", required=True, help="names or globs, comma-separated (team/*)")
        add.add_argument("--tags", help="glob of the tags to copy (default *)")
        add.add_argument("--keep-last", type=int, help="only the N most recent tags")
        add.add_argument("--namespace", help="destination namespace (default: the same names)")
        add.add_argument("--referrers", action="store_true", help="copy signatures and SBOMs too")
        add.add_argument("--deletes", action="store_true", help="push rules: propagate local deletes")
        add.add_argument("--interval", help="also run on a schedule, e.g. 1h")
        add.add_argument("--concurrency", type=int, help="images copied at once (default 4)")
        add.add_argument("--disabled", action="store_true")
        sub.add_parser("list", help="list the rules")
        sub.add_parser("remove", help="remove a rule and its run history").add_argument("name")

    def handle(self, *args, **options):
        try:
            getattr(self, f"do_{options['action']}")(options)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def do_add(self, options):
        rule = services.add_rule(
            options["name"],
            options["remote"],
            options["mode"],
            options["repositories"],
            tags=options["tags"],
            keep_last=options["keep_last"],
            namespace=options["namespace"],
            referrers=options["referrers"],
            deletes=options["deletes"],
            interval=options["interval"],
            concurrency=options["concurrency"],
            enabled=not options["disabled"],
        )
        self.stdout.write(f"rule {rule.name} ({rule.mode} {rule.repositories} via {rule.remote.name}) added")

    def do_list(self, options):
        for rule in ReplicationRule.objects.select_related("remote"):
            self.stdout.write(
                f"{rule.name}\t{rule.mode}\t{rule.remote.name}\t{rule.repositories}\ttags={rule.tags}"
                f" keep_last={rule.keep_last or '-'} namespace={rule.namespace or '-'} referrers={rule.referrers}"
                f" deletes={rule.deletes} enabled={rule.enabled} interval={rule.interval or '-'}"
                f" last={rule.last_status or '-'} {rule.last_message}".rstrip()
            )

    def do_remove(self, options):
        services.remove_rule(options["name"])
        self.stdout.write(f"rule {options['name']} removed")
