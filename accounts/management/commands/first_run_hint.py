"""Print how to create the first account when none exists (gunicorn's master runs this at start-up).

manage.py first_run_hint 0.0.0.0:5000
"""

from django.core.management.base import BaseCommand

from accounts.first_run import hint


class Command(BaseCommand):
    help = "Print how to create the first account, log in and push, when no account exists yet."

    def add_arguments(self, parser):
        parser.add_argument("address", nargs="?", default="127.0.0.1:5000", help="the server's listen address")

    def handle(self, *args, **options):
        text = hint(options["address"])
        if text:
            self.stderr.write(text)
