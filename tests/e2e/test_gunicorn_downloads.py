"""Blob downloads from gunicorn with the shipped config: copied in 1 MiB blocks (the default) or
through sendfile() (BERTH_SENDFILE=true), the client gets the same bytes, whole or by range."""

import hashlib
import os

import pytest
import requests

from tests.e2e.ops_helpers import started_or_fail
from tests.e2e.servers import BerthServer

pytestmark = pytest.mark.e2e

SIZE = 3 * 1024 * 1024 + 12345  # several blocks, the last one short


@pytest.fixture(params=["false", "true"], ids=["copy", "sendfile"])
def server(request, tmp_path, monkeypatch):
    monkeypatch.setenv("BERTH_SENDFILE", request.param)
    berth = started_or_fail(BerthServer("gunicorn", tmp_path / "berth", os.environ.get("DATABASE_URL")))
    yield berth
    berth.stop()


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
