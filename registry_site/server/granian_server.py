"""Berth under granian (a Rust HTTP server with a WSGI interface, pinned in requirements.txt):
`BERTH_SERVER=granian berth serve`, or `python -m registry_site.server.granian_server`.

Measured against the shipped gunicorn configuration (bench/RESULTS.md, "Round 2, continued"): HTTP
parsing, keep-alive and writing happen in Rust outside the GIL, so a manifest GET costs about a third
less server CPU, and one process with BERTH_THREADS threads replaces gunicorn's cores + 1 processes.

The same settings as gunicorn.conf.py, from the same environment: BERTH_BIND, BERTH_WORKERS (processes;
1 by default here), BERTH_THREADS (threads per process), BERTH_ACCESS_LOG (`-`: on, to stderr; empty:
off), BERTH_LOG_LEVEL; the start-up check (`berth check`) and the first-run hint run before the workers
start, and /metrics sums the workers through PROMETHEUS_MULTIPROC_DIR as under gunicorn.

What gunicorn needs adapting and granian does itself: request bodies arrive de-chunked and the input is
marked terminated (registry_site/server/bodies.py reads them as under runserver), a TLS handshake on the
plain-HTTP port is answered at once (400, so clients fall back to HTTP without a stall), HEAD answers keep
their Content-Length. What differs: an oversized header block is refused with granian's empty 431, not
the registry's JSON envelope (gunicorn_errors.py), and a request line has no 4094-byte limit.
"""

import os
import subprocess
import sys

from registry_site.server import startup

ACCESS_FORMAT = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3fms'


def _bind():
    host, _, port = os.environ.get("BERTH_BIND", "0.0.0.0:5000").rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def build():
    """The granian server for the environment's settings (not started)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    host, port = _bind()
    access = os.environ.get("BERTH_ACCESS_LOG", "-")
    server = Granian(
        "registry_site.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("BERTH_WORKERS", "1")),
        blocking_threads=int(os.environ.get("BERTH_THREADS", "8")),
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels(os.environ.get("BERTH_LOG_LEVEL", "info").lower()),
        log_access=bool(access),
        log_access_format=ACCESS_FORMAT,
        respawn_failed_workers=True,
        workers_kill_timeout=60,
    )
    server.on_startup(lambda: _before_workers(f"{host}:{port}"))
    return server


def _before_workers(address):
    """In granian's main process, before it starts the workers: what gunicorn.conf.py's hooks do."""
    startup.check_or_exit(lambda text: sys.stderr.write(text))
    command = [sys.executable, "-m", "registry_site.cli", "first_run_hint", address]
    try:
        subprocess.run(command, stdin=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        sys.stderr.write(f"first-run check skipped: {error}\n")


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    created = startup.metrics_multiprocess_dir()
    try:
        build().serve()
    finally:
        startup.remove_metrics_dir(created)


if __name__ == "__main__":
    main()
