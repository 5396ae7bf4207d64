"""Production gunicorn settings for Berth; every value can be overridden from the environment.

- gunicorn 27's asyncio worker (BERTH_WORKER=asgi, the default): the hot registry
  reads answered in its event loop, the rest in `threads` threads, so a thread
  streaming a multi-GB layer doesn't block the worker; processes use the cores.
  Blob downloads from the filesystem go out by sendfile() from its loop
  (registry_site/server/asgi_worker.py). BERTH_WORKER=gthread: gunicorn's threaded
  worker, every request in a thread (registry_site/server/workers.py); there blob
  downloads are copied out in 1 MiB blocks (not sendfile(), see `sendfile` below).
  Request bodies are streamed (gunicorn de-chunks them).
- `timeout` is the worker heartbeat, not a request limit, so long transfers
  are fine; max_requests with jitter recycles workers gently.
- Before the workers start, `berth check` (`manage.py check`) verifies the settings and that
  the storage is reachable: a wrong bucket or key fails here, not on the
  first push.
"""

import gc
import glob
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile


def _flag(name, default):
    """An on/off setting from the environment; a value that is neither keeps the default."""
    value = os.environ.get(name, "").strip().lower()
    return value not in ("0", "false", "no", "off") if default else value in ("1", "true", "yes", "on")


bind = os.environ.get("BERTH_BIND", "0.0.0.0:5000")
# One process per core, at least two (one keeps accepting while another drains before a restart). Not
# cores + 1: on 2 cores, 2 workers x 8 threads against 3 x 8 took 18 % less memory at peak in the
# benchmark, with server CPU per metadata request equal or lower and req/s equal or higher under wrk
# (bench/RESULTS.md, "Round 2, continued").
workers = int(os.environ.get("BERTH_WORKERS", max(2, multiprocessing.cpu_count())))
# The worker, chosen here only. asgi (the default): gunicorn 27's asyncio worker, the hot registry reads
# answered in its loop's thread, the rest in `threads` threads (registry_site/server/asgi_worker.py,
# asgi_bridge.py). BERTH_WORKER=gthread: gunicorn 27's gthread plus an immediate answer to TLS handshakes,
# fair accepting and keep-alive in the request thread (registry_site/server/workers.py).
_WORKER_CLASSES = {
    "gthread": "registry_site.server.workers.RegistryThreadWorker",
    "asgi": "registry_site.server.asgi_worker.RegistryASGIWorker",
}
_worker = os.environ.get("BERTH_WORKER", "").strip().lower() or "asgi"
if _worker not in _WORKER_CLASSES:
    raise SystemExit(f"BERTH_WORKER={_worker!r}: asgi (the default) or gthread")
worker_class = _WORKER_CLASSES[_worker]
threads = int(os.environ.get("BERTH_THREADS", "8"))
timeout = int(os.environ.get("BERTH_TIMEOUT", "300"))
graceful_timeout = 60
keepalive = 75
# A worker is replaced after this many requests (a safety net against a slow leak: none measured, a worker's RSS
# moved 78.5 -> 79.3 MiB over 800,000 manifest GETs). Not lower: each replacement closes the worker's keep-alive
# connections, and their clients reconnect to the workers still accepting, which then hold them (at 250,000, a
# worker was replaced every ~80 s under load and its successor idled while the other served everyone).
max_requests = int(os.environ.get("BERTH_MAX_REQUESTS", "2000000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("BERTH_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("BERTH_LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
# The same lines, with only the atoms the format names computed, written in batches at most
# BERTH_ACCESS_LOG_FLUSH seconds (default 1) after the request (registry_site/access_log.py).
logger_class = "registry_site.access_log.AccessLogger"
# Long bearer tokens live in headers.
limit_request_field_size = 16384
# Blob downloads: write() from a 1 MiB buffer, not sendfile(). Over loopback (a client on the same
# host, or nginx in front), measured with `ss -ti` on Linux 6.18: with sendfile() the receiver's
# window stayed near 33 KiB and segments were 32 KiB (mss 33280); with copies, 320 KiB and 64 KiB.
# skopeo pulled a 1 GiB layer 10-20 % slower than from the reference (which copies), curl 10-20 %
# slower than with copies. Copying costs 0.2-0.4 s more CPU per GiB. BERTH_SENDFILE=true: sendfile().
# Under BERTH_WORKER=asgi the default is sendfile() from the event loop (registry_site/server/asgi_worker.py):
# its copy goes block by block from a pool thread to the loop, 17-33 % slower than gthread's copy.
# gunicorn reads any value given here as "off"; None leaves it on (unless SENDFILE=no is set).
sendfile = None if _flag("BERTH_SENDFILE", _worker == "asgi") else False
# Each worker touches a file every loop iteration (its heartbeat). On a disk-backed /tmp that
# metadata write waits for the filesystem journal, which blob pushes keep busy: use memory.
worker_tmp_dir = os.environ.get("BERTH_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# What gunicorn 27 added and Berth does not use, off by name so that a later default cannot change what
# clients see: HTTP/1.1 only (no h2 over TLS, no h2c upgrade or prior knowledge from forwarded_allow_ips);
# the pure-Python request parser, which registry_site/server/gunicorn_errors.py extends (gunicorn_h1c,
# if installed, would otherwise be picked); no control socket (a thread in the master and a socket in
# ~/.gunicorn, shared by every gunicorn of the user); no dirty workers. Early hints are only sent when
# the application calls wsgi.early_hints, which Berth never does.
http_protocols = "h1"
http2_cleartext = "off"
http_parser = "python"
control_socket_disable = True
dirty_workers = 0
wsgi_app = "registry_site.wsgi:application"
# Django is loaded once, in the master, and the workers are forked from it: they share its code and
# start-up objects (copy-on-write) instead of each loading its own, and a recycled worker starts warm.
preload_app = _flag("BERTH_PRELOAD", True)


def on_starting(server):
    """Refuse to start with a broken configuration or an unreachable storage."""
    if os.environ.get("BERTH_SKIP_STARTUP_CHECK"):
        return
    # `berth check` in a fresh interpreter (registry_site/cli.py; a clone and an installed Berth alike).
    result = subprocess.run([sys.executable, "-m", "registry_site.cli", "check"], capture_output=True, text=True)
    if result.returncode != 0:
        server.log.error("start-up check failed:\n%s%s", result.stdout, result.stderr)
        raise SystemExit(3)


def when_ready(server):
    """Once, in the master, listening: with no account yet, print how to create the first one.

    With preload_app Django is loaded here already (one query); otherwise a short-lived
    `berth first_run_hint` says it (before the workers start), so the master loads no Django.
    """
    address = server.cfg.bind[0] if server.cfg.bind else bind
    if server.cfg.preload_app:
        from accounts.first_run import hint

        text = hint(address)
        if text:
            sys.stderr.write(text)
        return
    command = [sys.executable, "-m", "registry_site.cli", "first_run_hint", address]
    try:
        subprocess.run(command, stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        server.log.warning("first-run check skipped: %s", error)


def _larger_socket_reads():
    """gunicorn reads from the socket 8 KiB at a time (gunicorn 27: more only when its own body readers pass
    a size hint, which registry_site/server/bodies.py and chunked.py, reading the socket reader directly, do
    not); blobs want larger reads."""
    from gunicorn.http import unreader

    unreader.SocketUnreader.__init__.__defaults__ = (int(os.environ.get("BERTH_SOCKET_READ", 256 * 1024)),)


_larger_socket_reads()


def _metrics_multiprocess_dir():
    """/metrics sums every worker's counters (prometheus_client multiprocess mode, images/metrics.py).

    The workers inherit PROMETHEUS_MULTIPROC_DIR from the master; a folder given
    there is emptied at start, else a fresh temporary one is made.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.unlink(stale)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir[0] = tempfile.mkdtemp(prefix="berth-metrics-")


_created_metrics_dir = [None]


def on_exit(server):
    """The master stops: a metrics folder made for this run goes with it."""
    if _created_metrics_dir[0]:
        shutil.rmtree(_created_metrics_dir[0], ignore_errors=True)


def pre_fork(server, worker):
    """In the master, before each fork: nothing the workers would share by accident.

    No database connection crosses the fork (each worker opens its own), and the objects loaded so
    far move out of the garbage collector's reach (gc.freeze), so collections in the workers do not
    touch, and so copy, the pages they share with the master.
    """
    if not server.cfg.preload_app:  # Django is not loaded in the master: nothing to share
        return
    connections.close_all()
    gc.freeze()


def worker_exit(server, worker):
    from activity import pulls
    from images import metrics

    pulls.flush()  # pull counters not written yet (activity/pulls.py)
    metrics.flush()  # counts not handed to prometheus_client yet (images/metrics_tally.py)
    flush_access = getattr(worker.log, "flush_access", None)
    if flush_access is not None:
        flush_access()  # access log lines still in the worker's batch (registry_site/access_log.py)


def child_exit(server, worker):
    """A worker is gone: prometheus_client drops its live-gauge files.

    Runs in the master's SIGCHLD handler, so nothing may be imported here: when
    several workers die at once (kill -9, OOM) a second signal re-entered a
    half-done import, the ImportError escaped and the master died with them.
    """
    prometheus_multiprocess.mark_process_dead(worker.pid)


_metrics_multiprocess_dir()
from django.db import connections  # noqa: E402
from prometheus_client import multiprocess as prometheus_multiprocess  # noqa: E402  (after the folder is set)
