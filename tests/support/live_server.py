"""Berth's own runserver (registry_site.server.devserver: de-chunks request bodies) in a thread, for tests that
talk real HTTP to the test database: the v2 API's chunked uploads and the v1 protocol."""

import contextlib
import socketserver

from django.core.servers import basehttp
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from registry_site.server import devserver


class _BerthTestServer(socketserver.ThreadingMixIn, devserver.WSGIServer):
    """registry_site.server.devserver.WSGIServer (the one `manage.py runserver` uses), threaded like runserver,
    with the test's in-memory database connection shared into each request thread."""

    daemon_threads = False
    block_on_close = True  # shutting down waits for requests in flight, before the connection is unshared

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections_override = connections_override or {}

    def serve_forever(self, poll_interval=0.05):  # a quicker shutdown than the default 0.5 s poll
        super().serve_forever(poll_interval)

    def process_request_thread(self, request, client_address):
        for alias, conn in self.connections_override.items():
            connections[alias] = conn
        super().process_request_thread(request, client_address)

    def close_request(self, request):
        for conn in connections.all(initialized_only=True):
            if conn.alias not in self.connections_override:
                conn.close()
        super().close_request(request)


class _QuietHandler(devserver.RequestHandler):
    timeout = 10  # an idle keep-alive connection does not hold up shutdown for long

    def log_message(self, *args):
        pass


class _BerthServerThread(LiveServerThread):
    def _create_server(self, connections_override=None):
        server = _BerthTestServer(
            (self.host, self.port), basehttp.WSGIRequestHandler, connections_override=connections_override
        )
        server.RequestHandlerClass = _QuietHandler
        return server


@contextlib.contextmanager
def serving(host="127.0.0.1"):
    """Serve Berth on a free port of `host` while the block runs; yields the port."""
    overrides = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    for conn in overrides.values():
        conn.inc_thread_sharing()
    thread = _BerthServerThread(host, _StaticFilesHandler, connections_override=overrides, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield thread.port
    finally:
        thread.terminate()
        for conn in overrides.values():
            conn.dec_thread_sharing()
