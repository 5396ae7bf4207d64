"""Create or update a user, optionally an organisation membership and an access token.

    manage.py berth_user alice                       # on a terminal: asks for the password twice
    echo "$PASSWORD" | manage.py berth_user alice --password-stdin [--staff] [--org acme --role write]
    manage.py berth_user alice --token ci --token-scope 'alice/*' --token-actions pull,push
    manage.py berth_user bob --no-password --org acme --role admin --robot deployer --token-scope 'acme/*'

A new account needs a password: typed at the prompt (a terminal), read from standard input
(--password-stdin), or explicitly none (--no-password: nobody can sign in with a password).
Passwords go through Django's AUTH_PASSWORD_VALIDATORS. The token (shown once) is printed
alone on the last line.
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import tokens
from accounts.models import ROLES, AccessToken, Membership, Organisation

DEFAULT_ROLE = "read"


class Command(BaseCommand):
    help = (
        "Create or update a user (and optionally an organisation membership, a token or a robot account). "
        "A new user's password is asked for twice on a terminal, read from standard input with "
        "--password-stdin, or left unset with --no-password (the account then cannot sign in with a password); "
        "without a terminal and without either option a new user is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password-stdin",
            action="store_true",
            help="set the password: read one line from standard input (asked twice, hidden, on a terminal)",
        )
        password.add_argument(
            "--no-password",
            action="store_true",
            help="create the user without a usable password: nobody can sign in as them with a password",
        )
        parser.add_argument("--staff", action="store_true", help="make the user staff (an administrator)")
        parser.add_argument("--org", help="organisation to create if missing and to add the user to")
        parser.add_argument(
            "--role",
            choices=[r for r, _ in ROLES],
            help=f"the user's role in --org: read (pull), write (pull, push), admin; default {DEFAULT_ROLE} "
            "for a new member, unchanged for an existing one",
        )
        parser.add_argument("--token", metavar="NAME", help="create a personal access token with this name")
        parser.add_argument("--robot", metavar="NAME", help="create a robot account of --org with this name")
        parser.add_argument("--token-scope", action="append", default=None, help="repository pattern (repeatable)")
        parser.add_argument("--token-actions", default="pull", help="comma separated pull,push,delete")

    def handle(self, *args, **options):
        if options["role"] and not options["org"]:
            raise CommandError("--role needs --org (the organisation the role is in)")
        if options["robot"] and not options["org"]:
            raise CommandError("--robot needs --org")
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: options["username"]}).first()
        created = user is None
        if created:
            user = User(**{User.USERNAME_FIELD: options["username"]})
        password = self.new_password(user, created, options)
        with transaction.atomic():
            self.save_user(user, created, password, options)
            org = self.save_membership(user, options) if options["org"] else None
            if options["robot"] or options["token"]:
                self.create_token(user, org, options)

    def new_password(self, user, created, options):
        """The password to set (validated), "" for none, None to leave the current one."""
        interactive = sys.stdin.isatty()
        if options["password_stdin"] or (created and interactive and not options["no_password"]):
            password = self.prompt() if interactive else sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("empty password")
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError("password refused: " + " ".join(error.messages)) from None
            return password
        if created and not options["no_password"]:
            raise CommandError(
                f"no password for the new user {user.get_username()}: pipe one to --password-stdin "
                '(echo "$PASSWORD" | manage.py berth_user NAME --password-stdin), run the command on a '
                "terminal to be asked for it, or pass --no-password to create an account that cannot sign in"
            )
        return "" if created else None

    def prompt(self):
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != first:
            raise CommandError("the passwords do not match")
        return first

    def save_user(self, user, created, password, options):
        if password:
            user.set_password(password)
        elif password == "":
            user.set_unusable_password()
        if options["staff"]:
            user.is_staff = True
        user.save()
        self.stdout.write(f"{'created' if created else 'updated'} user {user.get_username()}")
        if password == "":
            self.stdout.write(
                f"{user.get_username()} has no password and cannot sign in with one "
                "(set one with --password-stdin or in the admin)"
            )

    def save_membership(self, user, options):
        org, _ = Organisation.objects.get_or_create(name=options["org"])
        membership = Membership.objects.filter(organisation=org, user=user).first()
        role, note = options["role"], ""
        if role is None and membership is not None:
            role, note = membership.role, " (unchanged; --role to change it)"
        elif role is None:
            role, note = DEFAULT_ROLE, " (the default role: pull only; --role write to push, --role admin to manage)"
        Membership.objects.update_or_create(organisation=org, user=user, defaults={"role": role})
        self.stdout.write(f"{user.get_username()} is {role} in {org.name}{note}")
        return org

    def create_token(self, user, org, options):
        actions = [a for a in ("pull", "push", "delete") if a in options["token_actions"].split(",")]
        plaintext, key_id, secret_hash = tokens.new_access_token()
        row = AccessToken.objects.create(
            user=user,
            organisation=org if options["robot"] else None,
            name=options["robot"] or options["token"],
            key_id=key_id,
            secret_hash=secret_hash,
            repositories="\n".join(options["token_scope"] or ["*"]),
            actions=",".join(actions),
        )
        self.stdout.write(f"token for login {row.login_name}:")
        self.stdout.write(plaintext)
