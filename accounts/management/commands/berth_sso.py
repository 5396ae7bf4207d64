"""Directory group mappings from the command line (the admin's *Directory group mappings* too).

    manage.py berth_sso                                                   # list the mappings
    manage.py berth_sso --map "cn=developers,ou=groups,dc=example,dc=com" --org acme --role write [--team devs]
    manage.py berth_sso --source oidc --map developers --org acme --role read
    manage.py berth_sso --unmap "cn=developers,ou=groups,dc=example,dc=com" --org acme
    manage.py berth_sso --check                                           # can the directory be reached?

A mapping applies at each member's next sign-in or token refresh.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from accounts import checks
from accounts.models import SOURCES
from accounts.services import directory
from accounts.services.organisations import OPERATOR, ROLE_NAMES


class Command(BaseCommand):
    help = "List, add and remove directory group mappings (LDAP group DN or OIDC claim value -> organisation role)."

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=[s for s, _ in SOURCES], default="ldap")
        parser.add_argument("--map", metavar="GROUP")
        parser.add_argument("--unmap", metavar="GROUP")
        parser.add_argument("--org")
        parser.add_argument("--role", choices=ROLE_NAMES, default="read")
        parser.add_argument("--team")
        parser.add_argument("--check", action="store_true")

    def handle(self, *args, **o):
        try:
            if o["check"]:
                return self.check_directory()
            if (o["map"] or o["unmap"]) and not o["org"]:
                raise CommandError("--map and --unmap need --org")
            if o["map"]:
                row = directory.add_mapping(OPERATOR, o["source"], o["map"], o["org"], o["role"], o["team"])
                self.stdout.write(f"mapped: {row}")
            elif o["unmap"]:
                directory.remove_mapping(OPERATOR, o["source"], o["unmap"], o["org"])
                self.stdout.write("removed")
            else:
                for row in directory.mappings():
                    self.stdout.write(str(row))
        except (ValidationError, PermissionDenied, Http404) as error:
            raise CommandError(" ".join(getattr(error, "messages", None) or [str(error)])) from None

    def check_directory(self):
        statuses = checks.statuses()
        for name, status in statuses.items():
            self.stdout.write(f"{name}: {status}")
        if not statuses:
            self.stdout.write("no directory configured")
        if any(status != "ok" for status in statuses.values()):
            raise CommandError("a directory is not reachable")
