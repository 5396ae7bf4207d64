"""What runs once before any server's workers start, whichever server runs Berth (gunicorn.conf.py's hooks,
granian_server.py): the start-up check and the metrics folder the workers share."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile


def check_or_exit(report):
    """`berth check` (`manage.py check`: settings, storage reachable) in a fresh interpreter; on failure
    `report(text)` and exit 3, so a wrong bucket or key fails here, not on the first push."""
    if os.environ.get("BERTH_SKIP_STARTUP_CHECK"):
        return
    result = subprocess.run([sys.executable, "-m", "registry_site.cli", "check"], capture_output=True, text=True)
    if result.returncode != 0:
        report(f"start-up check failed:\n{result.stdout}{result.stderr}")
        raise SystemExit(3)


def metrics_multiprocess_dir():
    """/metrics sums every worker's counters (prometheus_client multiprocess mode, images/metrics.py).

    The workers inherit PROMETHEUS_MULTIPROC_DIR; a folder given there is emptied now, else a fresh
    temporary one is made and returned (remove_metrics_dir removes it at the end)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.unlink(stale)
        return None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created = tempfile.mkdtemp(prefix="berth-metrics-")
    return created


def remove_metrics_dir(created):
    if created:
        shutil.rmtree(created, ignore_errors=True)
