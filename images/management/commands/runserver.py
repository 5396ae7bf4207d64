"""runserver with chunked request bodies (see registry_site/devserver.py), an embedded task worker and the
first-run hint (accounts/first_run.py).

The worker (images/task_worker.py: django-tasks-db's worker loop and the scheduler, in threads) starts in
the process that serves, never in the autoreloader's parent: one worker per dev server. A reload ends
that process and its worker with it; a task it was running goes back to the queue (task_worker.recover).
BERTH_EMBEDDED_WORKER=false turns it off (then run `manage.py worker` yourself).
"""

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

    def inner_run(self, *args, **options):
        from images import task_worker

        try:
            worker = task_worker.start_embedded()
        except Exception as exc:  # e.g. migrations not applied yet: serving still works
            worker = None
            self.stderr.write(f"Background tasks: embedded worker not started ({exc.__class__.__name__}: {exc})")
        if worker is not None:
            self.stdout.write("Background tasks: embedded worker (database backend) runs tasks and the schedule.")
        else:
            self.stdout.write("Background tasks: no embedded worker here; run `python manage.py worker`.")
        super().inner_run(*args, **options)
