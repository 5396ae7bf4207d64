"""manage.py proxy_cache add|list|remove: proxy namespaces and the mirror ("" namespace)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from proxy import eviction, services
from proxy.credentials import add_password_stdin, password_from_stdin
from proxy.models import PULL_CHOICES


class Command(BaseCommand):
    help = "Configure pull-through caches: `add NAMESPACE URL`, `list`, `remove NAMESPACE` ('' = the mirror)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add or update the proxy of a namespace")
        add.add_argument("namespace", help='e.g. ghcr (pulls of ghcr/org/img fetch org/img); "" = the mirror')
        add.add_argument("url", help="the upstream registry, e.g. https://ghcr.io")
        add.add_argument("--username")
        add_password_stdin(add, help="read the upstream password from stdin")
        add.add_argument("--ttl", type=int, help="seconds a cached tag is trusted (default 172800)")
        add.add_argument("--max-size", help="evict least recently pulled above this, e.g. 10GiB")
        add.add_argument("--max-age-days", type=int, help="evict what was not pulled for this many days")
        add.add_argument("--pull-access", choices=[c for c, _ in PULL_CHOICES], help="who may pull (default public)")
        add.add_argument("--insecure", action="store_true", help="do not verify the upstream's TLS certificate")
        sub.add_parser("list", help="list the proxies")
        remove = sub.add_parser("remove", help="remove a proxy and its cached repositories")
        remove.add_argument("namespace")

    def handle(self, *args, **options):
        try:
            getattr(self, f"do_{options['action']}")(options)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def do_add(self, options):
        password = password_from_stdin(options)
        proxy = services.save(
            options["namespace"],
            options["url"],
            username=options["username"],
            password=password,
            tag_ttl=options["ttl"],
            max_size=services.parse_size(options["max_size"]),
            max_age_days=options["max_age_days"],
            pull_access=options["pull_access"],
            verify_tls=False if options["insecure"] else None,
        )
        self.stdout.write(f"proxy {proxy.namespace or '(mirror)'} -> {proxy.upstream_url} saved")

    def do_list(self, options):
        for proxy in services.listing():
            auth = f" user={proxy.username} password=(set)" if proxy.username else ""
            limits = f" max_size={proxy.max_size or '-'} max_age_days={proxy.max_age_days or '-'}"
            self.stdout.write(
                f"{proxy.namespace or '(mirror)'}\t{proxy.upstream_url}\tttl={proxy.tag_ttl}{auth}{limits}"
                f" pull={proxy.pull_access} repositories={proxy.repositories.count()}"
                f" cached_bytes={eviction.cached_bytes(proxy)}"
            )

    def do_remove(self, options):
        count = services.remove(options["namespace"])
        self.stdout.write(f"proxy {options['namespace'] or '(mirror)'} removed with {count} cached repositories")
