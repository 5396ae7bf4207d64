"""Production gunicorn settings for Berth; every value can be overridden from the environment.

- gthread workers: a thread streaming a multi-GB layer doesn't block the worker;
  processes use the cores. Blob downloads from the filesystem go out through
  sendfile(); request bodies are streamed (gunicorn de-chunks them).
- `timeout` is the worker heartbeat, not a request limit, so long transfers
  are fine; max_requests with jitter recycles workers gently.
- Before the workers start, `manage.py check` verifies the settings and that
  the storage is reachable: a wrong bucket or key fails here, not on the
  first push.
"""

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

bind = os.environ.get("BERTH_BIND", "0.0.0.0:5000")
workers = int(os.environ.get("BERTH_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("BERTH_THREADS", "8"))
timeout = int(os.environ.get("BERTH_TIMEOUT", "300"))
graceful_timeout = 60
keepalive = 75
max_requests = int(os.environ.get("BERTH_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("BERTH_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("BERTH_LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
# Long bearer tokens live in headers.
limit_request_field_size = 16384
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "registry_site.wsgi:application"


def on_starting(server):
    """Refuse to start with a broken configuration or an unreachable storage."""
    if os.environ.get("BERTH_SKIP_STARTUP_CHECK"):
        return
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    result = subprocess.run([sys.executable, str(manage), "check"], capture_output=True, text=True)
    if result.returncode != 0:
        server.log.error("start-up check failed:\n%s%s", result.stdout, result.stderr)
        raise SystemExit(3)


def _larger_socket_reads():
    """gunicorn reads request bodies from the socket 8 KiB at a time; blobs want larger reads."""
    from gunicorn.http import unreader

    unreader.SocketUnreader.__init__.__defaults__ = (int(os.environ.get("BERTH_SOCKET_READ", 256 * 1024)),)


_larger_socket_reads()
