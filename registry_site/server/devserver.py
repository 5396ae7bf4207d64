"""`manage.py runserver`: Berth's development server.

- It understands `Transfer-Encoding: chunked` request bodies. Django's development server hands the
  application a stream limited to Content-Length, which is 0 for the chunked layer uploads docker
  always sends. This server de-chunks such bodies itself (chunked.from_stream) and marks the input
  terminated, the way gunicorn does, so the registry reads the same way under both.
- `Command` (installed as images/management/commands/runserver.py: the app must come before
  django.contrib.staticfiles in INSTALLED_APPS) runs an embedded task worker and prints the first-run hint
  (accounts/first_run.py). The worker (images/task_worker.py: django-tasks-db's worker loop and the
  scheduler, in threads) starts in the process that serves, never in the autoreloader's parent: one
  worker per dev server. A reload ends that process and its worker with it; a task it was running goes
  back to the queue (task_worker.recover). BERTH_EMBEDDED_WORKER=false turns it off (then run
  `manage.py worker` yourself).
"""

import os
from wsgiref import simple_server

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver
from django.core.servers import basehttp
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from accounts.first_run import hint
from registry_site.server.bodies import is_chunked
from registry_site.server.chunked import from_stream


class ServerHandler(basehttp.ServerHandler):
    def __init__(self, stdin, stdout, stderr, environ, **kwargs):
        if is_chunked(environ):
            self.chunked_input = from_stream(stdin)
            environ["wsgi.input_terminated"] = True
            simple_server.ServerHandler.__init__(self, self.chunked_input, stdout, stderr, environ, **kwargs)
        else:
            self.chunked_input = None
            super().__init__(stdin, stdout, stderr, environ, **kwargs)

    def close(self):
        if self.chunked_input is not None:
            try:
                self.chunked_input.drain()
            except Exception:  # a broken body: the connection can't be reused
                self.request_handler.close_connection = True
            simple_server.ServerHandler.close(self)
        else:
            super().close()


class RequestHandler(basehttp.WSGIRequestHandler):
    def handle_one_request(self):
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        handler.run(self.server.get_app())


class WSGIServer(basehttp.WSGIServer):
    def __init__(self, server_address, handler_class, *args, **kwargs):
        super().__init__(server_address, RequestHandler, *args, **kwargs)


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
