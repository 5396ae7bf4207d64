"""Set a namespace's or repositories' lifecycle policy (same service and rules as the pages and the API).

manage.py set_policy team --quota 10GiB --immutable 'v*' --keep-last 10 --keep-tags latest 'release-*'
manage.py set_policy team/web-* --keep-days 30 --untagged-days 7
manage.py set_policy team --clear          # remove the policy (lifts its immutability rules; recorded)
"""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services.organisations import OPERATOR
from policies.services import quotas, rules


def error_text(exc):
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Set (or --clear) the lifecycle policy of NAMESPACE or NAMESPACE/REPOSITORY-GLOB."

    def add_arguments(self, parser):
        parser.add_argument("scope", help="NAMESPACE or NAMESPACE/REPOSITORY (a glob)")
        parser.add_argument("--quota", help="storage limit of the namespace, e.g. 10GiB ('' = none)")
        parser.add_argument("--warn-percent", help="usage warning threshold, percent (default 80)")
        parser.add_argument("--immutable", nargs="*", metavar="PATTERN", help="immutable tag patterns")
        parser.add_argument("--keep-last", help="keep the N most recently pushed tags ('' = rule off)")
        parser.add_argument("--keep-days", help="keep tags pushed within D days ('' = rule off)")
        parser.add_argument("--keep-tags", nargs="*", metavar="PATTERN", help="always keep tags matching")
        parser.add_argument("--untagged-days", help="remove untagged manifests older than D days ('' = rule off)")
        parser.add_argument("--clear", action="store_true", help="remove the policy")

    def handle(self, scope, **options):
        try:
            if options["clear"]:
                found = rules.clear_policy(OPERATOR, scope)
                self.stdout.write(f"Cleared the policy of {scope}." if found else f"{scope} had no policy.")
                return
            values = {
                field: options[option]
                for field, option in (
                    ("quota_bytes", "quota"),
                    ("warn_percent", "warn_percent"),
                    ("immutable", "immutable"),
                    ("keep_last", "keep_last"),
                    ("keep_days", "keep_days"),
                    ("keep_tags", "keep_tags"),
                    ("untagged_days", "untagged_days"),
                )
                if options[option] is not None
            }
            policy, notes = rules.set_policy(OPERATOR, scope, values)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(error_text(exc) if isinstance(exc, ValidationError) else str(exc)) from None
        data = rules.as_dict(policy)
        data["usage"] = quotas.status(policy.namespace)
        self.stdout.write(json.dumps(data, indent=2))
        for note in notes:
            self.stderr.write(note)
