"""gunicorn with the shipped worker: a worker whose threads are all busy stops accepting, so a new
client is answered by another worker instead of waiting behind long transfers (registry_site/workers.py).

A worker counts a connection as busy once its request has arrived, so a client that connects in the
instant between another's connect and its request reaching a thread can still be accepted by the
worker that request fills; the tests give each stalled upload time to reach its thread."""

import signal
import socket
import time

import pytest
import requests

from tests.e2e.ops_helpers import start_open_server

pytestmark = pytest.mark.e2e

WORKERS, THREADS = 2, 2


@pytest.fixture
def server(tmp_path):
    berth = start_open_server(tmp_path / "berth", BERTH_WORKERS=str(WORKERS), BERTH_THREADS=str(THREADS))
    yield berth
    berth.stop()


def stalled_upload(server):
    """A PATCH that sends its headers and a little of a large body, then nothing: a busy thread."""
    created = requests.post(f"{server.url}/v2/slow/app/blobs/uploads/", timeout=10)
    assert created.status_code == 202, created.text
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    head = (
        f"PATCH {created.headers['Location']} HTTP/1.1\r\nHost: {server.host}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 100000000\r\n\r\n"
    )
    conn.sendall(head.encode() + b"x" * 1000)
    return conn


def stalled_uploads(server, count):
    stalls = []
    for _ in range(count):
        stalls.append(stalled_upload(server))
        time.sleep(0.2)  # it reaches its thread before the next client connects (see the module's doc)
    return stalls


def test_new_clients_are_answered_while_a_worker_is_full(server):
    # One thread short of full capacity: at least one worker has every thread stuck in an upload.
    stalls = stalled_uploads(server, WORKERS * THREADS - 1)
    try:
        for _ in range(20):  # each on a new connection, as skopeo and docker open them
            response = requests.get(f"{server.url}/v2/", headers={"Connection": "close"}, timeout=5)
            assert response.status_code == 200
    finally:
        for conn in stalls:
            conn.close()
    # The stalled uploads end as the clients go; the server keeps serving.
    assert requests.get(f"{server.url}/v2/", timeout=10).status_code == 200


def test_a_full_worker_shuts_down_cleanly(server):
    stalls = stalled_uploads(server, WORKERS * THREADS)
    server.proc.send_signal(signal.SIGTERM)  # graceful: the workers wait for their requests
    time.sleep(1)
    for conn in stalls:
        conn.close()  # the uploads end after the workers stopped accepting and closed their pollers
    assert server.proc.wait(timeout=30) == 0
    log = server.log.read_text()
    assert "Traceback" not in log and "exception calling callback" not in log, log[-3000:]
