"""registry_site/gunicorn.conf.py's BERTH_WORKER: the worker class gunicorn itself reads from the shipped config."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.servers import SHIPPED_WORKER, WORKER_CLASSES

ROOT = Path(__file__).resolve().parents[2]
EFFECTIVE_WORKER = """
import sys
from gunicorn.app.wsgiapp import WSGIApplication
sys.argv = ["gunicorn", "-c", "registry_site/gunicorn.conf.py", "registry_site.wsgi:application"]
print(WSGIApplication().cfg.worker_class_str)
"""


def _run(value, tmp_path):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    env.pop("BERTH_WORKER", None)
    if value is not None:
        env["BERTH_WORKER"] = value
    return subprocess.run([sys.executable, "-c", EFFECTIVE_WORKER], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    "value, expected",
    [(None, "asgi"), ("", "asgi"), ("asgi", "asgi"), ("gthread", "gthread"), (" GThread ", "gthread")],
)
def test_berth_worker_chooses_the_worker_class(value, expected, tmp_path):
    run = _run(value, tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == WORKER_CLASSES[expected]


def test_an_unknown_worker_is_refused(tmp_path):
    run = _run("sync", tmp_path)
    assert run.returncode != 0
    assert "BERTH_WORKER='sync': asgi (the default) or gthread" in run.stdout + run.stderr


def test_the_e2e_servers_know_the_default(tmp_path):
    """tests/e2e/servers.py's "gunicorn" servers run what the config picks when BERTH_WORKER is unset."""
    assert _run(None, tmp_path).stdout.strip() == WORKER_CLASSES[SHIPPED_WORKER]
