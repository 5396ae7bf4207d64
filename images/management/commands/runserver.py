"""runserver with chunked request bodies (see registry_site/devserver.py) and the first-run hint."""

import os

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from accounts.first_run import hint
from registry_site.devserver import WSGIServer


class Command(StaticRunserver):
    server_cls = WSGIServer

    def run(self, **options):
        # Runs in the autoreloader's parent and again in each child it (re)starts: say it once.
        if os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            text = hint(f"{self.addr}:{self.port}")
            if text:
                self.stdout.write(text)
        super().run(**options)
