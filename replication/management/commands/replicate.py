"""manage.py replicate RULE [--wait]: run a rule now (queued for the workers, or here with --wait)."""

from django.core.management.base import BaseCommand, CommandError

from replication import runner, triggers
from replication.models import ReplicationRule, ReplicationRun


class Command(BaseCommand):
    help = "Run a replication rule now; --wait runs it in this process and prints each image."

    def add_arguments(self, parser):
        parser.add_argument("rule")
        parser.add_argument("--wait", action="store_true", help="run here, print the result, fail if it failed")

    def handle(self, *args, **options):
        rule = ReplicationRule.objects.filter(name=options["rule"]).first()
        if rule is None:
            raise CommandError(f"no rule named {options['rule']!r} (manage.py replication_rule list)")
        if not options["wait"]:
            run, created = triggers.start(rule, "manual")
            self.stdout.write(f"run {run.pk} {'queued' if created else 'was queued already'}")
            return
        run = runner.execute(ReplicationRun.objects.create(rule=rule, trigger="manual").pk)
        for item in run.items.all():
            line = f"{item.status}\t{item.source}:{item.tag} -> {item.destination}\t{item.digest}\t{item.bytes} bytes"
            self.stdout.write(line + (f"\t{item.error}" if item.error else ""))
        summary = f"run {run.pk} {run.status}: {run.bytes} bytes{(' - ' + run.error) if run.error else ''}"
        if run.started_at and run.finished_at:
            summary += f" ({(run.finished_at - run.started_at).total_seconds():.2f} s)"
        if run.status in (ReplicationRun.FAILED, ReplicationRun.PARTIAL):
            raise CommandError(summary)
        self.stdout.write(summary)
