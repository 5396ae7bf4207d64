"""Berth under granian, for the benchmark only (`bench/run.py --granian`): not a supported way to run Berth.

granian 2.8.7 (a Rust HTTP server with a WSGI interface) costs Berth a third less server CPU per metadata
request than the shipped gunicorn configuration, but it hides a broken chunked request body from the
application: a chunk shorter than declared, a chunk size that is not hex, a body cut off before its last
chunk all read as a clean end of body, so a truncated `PATCH` was answered 202 instead of
BLOB_UPLOAD_INVALID (tests/hostile/test_wire.py, 10 cases; bench/RESULTS.md, "Round 2, continued").

The same settings as registry_site/gunicorn.conf.py where they apply: BERTH_BIND, BERTH_WORKERS (1 here),
BERTH_THREADS (8), an access log line per request; /metrics through PROMETHEUS_MULTIPROC_DIR.
Run from a Berth source tree (cwd) with it on PYTHONPATH.
"""

import os
import shutil
import tempfile

ACCESS_FORMAT = '%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3fms'


def main():
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    created = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = created = tempfile.mkdtemp(prefix="berth-metrics-")
    host, _, port = os.environ.get("BERTH_BIND", "127.0.0.1:5000").rpartition(":")
    try:
        Granian(
            "registry_site.wsgi:application",
            address=host,
            port=int(port),
            interface=Interfaces.WSGI,
            workers=int(os.environ.get("BERTH_WORKERS", "1")),
            blocking_threads=int(os.environ.get("BERTH_THREADS", "8")),
            http=HTTPModes.http1,
            websockets=False,
            log_access=True,
            log_access_format=ACCESS_FORMAT,
        ).serve()
    finally:
        if created:
            shutil.rmtree(created, ignore_errors=True)


if __name__ == "__main__":
    main()
