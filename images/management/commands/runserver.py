"""runserver with chunked request bodies (see registry_site/devserver.py) and an embedded task worker.

The worker (images/task_worker.py: django-tasks-db's worker loop and the scheduler, in threads) starts in
the process that serves, never in the autoreloader's parent: one worker per dev server. A reload ends
that process and its worker with it; a task it was running goes back to the queue (task_worker.recover).
BERTH_EMBEDDED_WORKER=false turns it off (then run `manage.py worker` yourself).
"""

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver

from registry_site.devserver import WSGIServer


class Command(StaticRunserver):
    server_cls = WSGIServer

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
