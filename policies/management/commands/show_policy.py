"""Show the policies of a namespace (or of one scope) and the namespace's storage usage.

manage.py show_policy team [--json]
manage.py show_policy team/web-* --json
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from policies.management.commands.set_policy import error_text
from policies.services import quotas, rules


class Command(BaseCommand):
    help = "Show the lifecycle policies of NAMESPACE[/REPOSITORY] with the namespace's usage."

    def add_arguments(self, parser):
        parser.add_argument("scope")
        parser.add_argument("--json", action="store_true")

    def handle(self, scope, **options):
        try:
            namespace, repository = rules.split_scope(scope)
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from None
        policies = rules.for_namespace(namespace)
        if repository:
            policies = [p for p in policies if p.repository == repository]
        data = {"scope": scope, "policies": [rules.as_dict(p) for p in policies], "usage": quotas.status(namespace)}
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        usage = data["usage"]
        quota = f" of {usage['quota']} ({usage['percent']}%)" if usage["quota"] else " (no quota)"
        self.stdout.write(f"{namespace}: {usage['used']} used{quota}{' — WARNING' if usage['warning'] else ''}")
        for p in data["policies"]:
            rules_text = ", ".join(
                f"{k}={p[k]}" for k in rules.RULE_FIELDS if p[k] not in (None, []) and k != "warn_percent"
            )
            self.stdout.write(f"  {p['scope']}: {rules_text or 'no rules'}")
        if not policies:
            self.stdout.write("  no policy")
