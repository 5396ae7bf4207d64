"""Production gunicorn settings; every value can be overridden from the environment.

Threads let one worker keep serving small requests while other threads stream
large blobs; several processes use both cores. Request bodies are streamed
(gunicorn de-chunks `Transfer-Encoding: chunked`), and blob downloads from the
filesystem go out through sendfile().
"""

import multiprocessing
import os

bind = os.environ.get("BERTH_BIND", "0.0.0.0:5000")
workers = int(os.environ.get("BERTH_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("BERTH_THREADS", "8"))
# Long blob transfers keep a thread busy, not the worker's heartbeat.
timeout = int(os.environ.get("BERTH_TIMEOUT", "300"))
graceful_timeout = 30
keepalive = 75
accesslog = os.environ.get("BERTH_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("BERTH_LOG_LEVEL", "info")
# Blob names contain no secrets; keep header size limits generous for long tokens.
limit_request_field_size = 16384
wsgi_app = "registry_site.wsgi:application"


def _larger_socket_reads():
    """gunicorn reads request bodies from the socket 8 KiB at a time; blobs want larger reads."""
    from gunicorn.http import unreader

    unreader.SocketUnreader.__init__.__defaults__ = (int(os.environ.get("BERTH_SOCKET_READ", 256 * 1024)),)


_larger_socket_reads()
