"""Create or update a user, optionally an organisation membership and an access token.

    manage.py berth_user alice --password-stdin [--staff] [--org acme --role write]
    manage.py berth_user alice --token ci --token-scope 'alice/*' --token-actions pull,push
    manage.py berth_user bob --org acme --role admin --robot deployer --token-scope 'acme/*'

The token (shown once) is printed alone on the last line.
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import tokens
from accounts.models import ROLES, AccessToken, Membership, Organisation


class Command(BaseCommand):
    help = "Create or update a user (and optionally an organisation membership, a token or a robot account)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--staff", action="store_true", help="make the user staff (an administrator)")
        parser.add_argument("--org", help="organisation to create if missing and to add the user to")
        parser.add_argument("--role", choices=[r for r, _ in ROLES], default="read")
        parser.add_argument("--token", metavar="NAME", help="create a personal access token with this name")
        parser.add_argument("--robot", metavar="NAME", help="create a robot account of --org with this name")
        parser.add_argument("--token-scope", action="append", default=None, help="repository pattern (repeatable)")
        parser.add_argument("--token-actions", default="pull", help="comma separated pull,push,delete")

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=options["username"])
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("empty password")
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        if options["staff"]:
            user.is_staff = True
        user.save()
        self.stdout.write(f"{'created' if created else 'updated'} user {user.username}")
        org = None
        if options["org"]:
            org, _ = Organisation.objects.get_or_create(name=options["org"])
            Membership.objects.update_or_create(organisation=org, user=user, defaults={"role": options["role"]})
            self.stdout.write(f"{user.username} is {options['role']} in {org.name}")
        name = options["robot"] or options["token"]
        if name:
            if options["robot"] and org is None:
                raise CommandError("--robot needs --org")
            actions = [a for a in ("pull", "push", "delete") if a in options["token_actions"].split(",")]
            plaintext, key_id, secret_hash = tokens.new_access_token()
            row = AccessToken.objects.create(
                user=user,
                organisation=org if options["robot"] else None,
                name=name,
                key_id=key_id,
                secret_hash=secret_hash,
                repositories="\n".join(options["token_scope"] or ["*"]),
                actions=",".join(actions),
            )
            self.stdout.write(f"token for login {row.login_name}:")
            self.stdout.write(plaintext)
