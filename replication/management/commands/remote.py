"""manage.py remote add|list|remove|test: the registries replication rules push to or pull from."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from proxy.credentials import add_password_stdin, password_from_stdin
from replication import services
from replication.models import Remote


class Command(BaseCommand):
    help = "Remote registries for replication: `add NAME URL`, `list`, `remove NAME`, `test NAME`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a remote registry")
        add.add_argument("name")
        add.add_argument("url", help="e.g. https://registry.example.com")
        add.add_argument("--username", default="")
        add_password_stdin(add)
        add.add_argument("--insecure", action="store_true", help="do not verify the remote's TLS certificate")
        sub.add_parser("list", help="list the remotes")
        for action in ("remove", "test"):
            sub.add_parser(action, help=f"{action} a remote").add_argument("name")

    def handle(self, *args, **options):
        try:
            getattr(self, f"do_{options['action']}")(options)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def do_add(self, options):
        password = password_from_stdin(options)
        remote = services.add_remote(
            options["name"], options["url"], options["username"], password, verify_tls=not options["insecure"]
        )
        self.stdout.write(f"remote {remote.name} -> {remote.url} added")

    def do_list(self, options):
        for remote in Remote.objects.all():
            auth = (
                f" user={remote.username} password={'(set)' if remote.has_password else '-'}" if remote.username else ""
            )
            tls = "" if remote.verify_tls else " insecure"
            self.stdout.write(f"{remote.name}\t{remote.url}{auth}{tls} last_check={remote.last_check or '-'}")

    def do_remove(self, options):
        services.remove_remote(options["name"])
        self.stdout.write(f"remote {options['name']} removed")

    def do_test(self, options):
        remote = Remote.objects.filter(name=options["name"]).first()
        if remote is None:
            raise CommandError(f"no remote named {options['name']!r}")
        result = services.test_remote(remote)
        if result != "ok":
            raise CommandError(f"remote {remote.name}: {result}")
        self.stdout.write(f"remote {remote.name}: ok")
