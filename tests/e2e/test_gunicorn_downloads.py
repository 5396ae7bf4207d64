"""Blob downloads from gunicorn with the shipped config, under either worker: under asgi (the default) by
sendfile() from its loop, or block by block (BERTH_SENDFILE=false); under gthread copied in 1 MiB blocks (its
default) or through sendfile() (BERTH_SENDFILE=true): the client gets the same bytes, whole or by range."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.ops_helpers import started_or_fail
from tests.e2e.servers import BerthServer

pytestmark = pytest.mark.e2e

SIZE = 3 * 1024 * 1024 + 12345  # several blocks, the last one short
ROOT = Path(__file__).resolve().parents[2]
EFFECTIVE_SENDFILE = """
import sys
from gunicorn.app.wsgiapp import WSGIApplication
sys.argv = ["gunicorn", "-c", "registry_site/gunicorn.conf.py", "registry_site.wsgi:application"]
print(WSGIApplication().cfg.sendfile)
"""


@pytest.fixture(
    params=[("asgi", ""), ("asgi", "false"), ("gthread", "false"), ("gthread", "true")],
    ids=["asgi-sendfile", "asgi-copy", "gthread-copy", "gthread-sendfile"],
)
def server(request, tmp_path, monkeypatch):
    kind, sendfile = request.param
    monkeypatch.setenv("BERTH_SENDFILE", sendfile)
    berth = started_or_fail(BerthServer(kind, tmp_path / "berth", os.environ.get("DATABASE_URL")))
    yield berth
    berth.stop()


@pytest.mark.parametrize(
    "worker, value, expected",
    [("gthread", "", "False"), ("gthread", "false", "False"), ("gthread", "true", "True"), ("gthread", "yes", "True"),
     ("asgi", "", "True"), ("asgi", "false", "False"), ("asgi", "no", "False"), ("asgi", "true", "True")],
)  # fmt: skip
def test_gunicorn_uses_sendfile_exactly_when_asked(worker, value, expected, tmp_path):
    """What gunicorn itself decides from the shipped config (it takes any value set there as "off")."""
    env = dict(os.environ, BERTH_WORKER=worker, BERTH_SENDFILE=value, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    env.pop("SENDFILE", None)
    run = subprocess.run([sys.executable, "-c", EFFECTIVE_SENDFILE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == expected


def test_blob_downloads_whole_and_by_range(server):
    data = os.urandom(SIZE)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pushed = requests.post(f"{server.url}/v2/dl/app/blobs/uploads/?digest={digest}", data=data, timeout=60)
    assert pushed.status_code == 201, pushed.text
    url = f"{server.url}/v2/dl/app/blobs/{digest}"

    whole = requests.get(url, timeout=60)
    assert whole.status_code == 200
    assert whole.headers["Content-Length"] == str(SIZE)
    assert whole.headers["Docker-Content-Digest"] == digest
    assert hashlib.sha256(whole.content).hexdigest() == digest.split(":")[1]

    start, end = 1024 * 1024 - 1, 2 * 1024 * 1024 + 5
    part = requests.get(url, headers={"Range": f"bytes={start}-{end}"}, timeout=60)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert part.content == data[start : end + 1]


@pytest.mark.parametrize("size", [0, 1, 700, 64 * 1024 + 1])
def test_small_blobs_whole(server, size):
    """Blobs that fit in one block: the header block and the bytes (coalesced when small), or no body."""
    data = os.urandom(size)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pushed = requests.post(f"{server.url}/v2/dl/small/blobs/uploads/?digest={digest}", data=data, timeout=60)
    assert pushed.status_code == 201, pushed.text
    got = requests.get(f"{server.url}/v2/dl/small/blobs/{digest}", timeout=60)
    assert got.status_code == 200
    assert got.headers["Content-Length"] == str(size)
    assert got.content == data
