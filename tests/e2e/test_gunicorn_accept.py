"""gunicorn with the gthread worker (BERTH_WORKER=gthread): a worker whose threads are all busy stops accepting, so
a new client is answered by another worker instead of waiting behind long transfers (registry_site/server/workers.py;
the asgi worker does not rebuild this, registry_site/server/asgi_worker.py).
A connection whose first request has not arrived yet counts as busy, so clients connecting at the same
instant are spread over the workers too. Under the asgi worker (the default) they are spread as well: each
worker accepts at most 4 connections per wake-up (asgi_worker.FairLoop)."""

import os
import signal
import socket
import ssl
import statistics
import time

import pytest
import requests

from tests.e2e.ops_helpers import start_open_server

pytestmark = pytest.mark.e2e

WORKERS, THREADS = 2, 2


@pytest.fixture
def server(tmp_path):
    berth = start_open_server(tmp_path / "berth", "gthread", BERTH_WORKERS=str(WORKERS), BERTH_THREADS=str(THREADS))
    yield berth
    berth.stop()


def new_upload(server):
    created = requests.post(f"{server.url}/v2/slow/app/blobs/uploads/", timeout=10)
    assert created.status_code == 202, created.text
    return created.headers["Location"]


def stall(server, conn, location):
    """Start a PATCH on `conn` that sends its headers and a little of a large body, then nothing:
    a thread busy until the client goes."""
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {server.host}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 100000000\r\n\r\n"
    )
    conn.sendall(head.encode() + b"x" * 1000)
    return conn


def connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def stalled_uploads(server, count):
    """`count` stalled uploads whose clients all connect in the same instant, before any request."""
    uploads = [new_upload(server) for _ in range(count)]
    conns = [connect(server) for _ in range(count)]
    return [stall(server, conn, location) for conn, location in zip(conns, uploads, strict=True)]


def get_root(conn, server):
    conn.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {server.host}\r\nConnection: close\r\n\r\n".encode())
    conn.settimeout(5)
    return conn.recv(100)


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


def test_clients_connecting_together_are_spread_over_the_workers(server):
    # Every thread's worth of clients connects at once, before any sends a request; all but the
    # last then start a long upload and the last asks for /v2/. A worker that took more clients
    # than it has threads would queue one behind the uploads while the other worker had room.
    for _ in range(5):  # the worker without the fresh-connection count failed 4 of 6 runs
        uploads = [new_upload(server) for _ in range(WORKERS * THREADS - 1)]
        conns = [connect(server) for _ in range(WORKERS * THREADS)]
        try:
            for conn, location in zip(conns[:-1], uploads, strict=True):
                stall(server, conn, location)
            time.sleep(0.3)  # the uploads reach their threads first
            assert get_root(conns[-1], server).startswith(b"HTTP/1.1 200")
        finally:
            for conn in conns:
                conn.close()
        time.sleep(0.5)  # the stalled uploads end as their clients go


def test_a_full_worker_shuts_down_cleanly(server):
    stalls = stalled_uploads(server, WORKERS * THREADS)
    server.proc.send_signal(signal.SIGTERM)  # graceful: the workers wait for their requests
    time.sleep(1)
    for conn in stalls:
        conn.close()  # the uploads end after the workers stopped accepting and closed their pollers
    assert server.proc.wait(timeout=30) == 0
    log = server.log.read_text()
    assert "Traceback" not in log and "exception calling callback" not in log, log[-3000:]


@pytest.fixture
def one_thread(tmp_path):
    berth = start_open_server(
        tmp_path / "berth", "gthread", BERTH_WORKERS="1", BERTH_THREADS="1", BERTH_TIMEOUT="2"
    )  # the arbiter ends a worker that gives no sign of life for 2 s
    yield berth
    berth.stop()


def test_a_silent_new_connection_does_not_take_the_thread(one_thread):
    # A connection whose request is already there goes straight to a thread; one that has sent
    # nothing yet waits in the poller, or the only thread would block on it and serve nobody else.
    with connect(one_thread) as silent:
        time.sleep(0.3)  # accepted while silent
        with connect(one_thread) as other:
            assert get_root(other, one_thread).startswith(b"HTTP/1.1 200")
        assert get_root(silent, one_thread).startswith(b"HTTP/1.1 200")


def test_an_idle_worker_keeps_telling_the_arbiter_it_lives(one_thread):
    workers = one_thread.worker_pids()
    time.sleep(5)  # more than twice the timeout, with nothing to do
    assert requests.get(f"{one_thread.url}/v2/", timeout=10).status_code == 200
    assert one_thread.worker_pids() == workers
    assert "WORKER TIMEOUT" not in one_thread.log.read_text()


def test_a_tls_handshake_is_closed_at_once(one_thread):
    # docker, podman and skopeo try HTTPS first: the handshake must fail at once (they then fall back to
    # plain HTTP), not wait for the client's 10 s handshake timeout; and it takes no thread from others.
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    for _ in range(3):
        started = time.monotonic()
        with connect(one_thread) as raw, pytest.raises((ssl.SSLError, OSError)):
            context.wrap_socket(raw, server_hostname="127.0.0.1")
        assert time.monotonic() - started < 1
    with connect(one_thread) as other:
        assert get_root(other, one_thread).startswith(b"HTTP/1.1 200")
    # Closed unread, not parsed: gunicorn 27 itself would mostly refuse a ClientHello as a request line
    # with a bare LF (an HTML 400 into the TLS client, a warning per docker command).
    assert "Invalid request" not in one_thread.log.read_text()


def test_a_silent_connection_does_not_hold_up_a_stop(one_thread):
    # A connection that never sends a request is closed when the worker stops, not kept for
    # graceful_timeout (60 s).
    with connect(one_thread) as silent:
        time.sleep(0.3)
        started = time.monotonic()
        one_thread.proc.send_signal(signal.SIGTERM)
        one_thread.proc.wait(timeout=30)
        assert time.monotonic() - started < 10
        silent.settimeout(5)
        assert silent.recv(10) == b""


def held_by_each_worker(server, conns):
    """How many of the client sockets `conns` each worker holds the server end of (/proc/net/tcp and each
    worker's descriptors)."""
    ours = {conn.getsockname()[1] for conn in conns}
    inodes = {}
    for line in open("/proc/net/tcp").readlines()[1:]:
        fields = line.split()
        local, remote = (int(fields[i].rsplit(":", 1)[1], 16) for i in (1, 2))
        if local == server.port and remote in ours:
            inodes[f"socket:[{fields[9]}]"] = remote
    held = {}
    for pid in server.worker_pids():
        fds = f"/proc/{pid}/fd"
        held[pid] = sum(1 for fd in os.listdir(fds) if _link(f"{fds}/{fd}") in inodes)
    return held


def _link(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def test_asgi_workers_share_clients_that_connect_at_the_same_instant(tmp_path):
    # 32 connections opened in the same instant (non-blocking connects, as a load balancer's pool or a
    # benchmark opens them), each then asking for /v2/. asyncio's default took up to 100 at each wake-up:
    # measured, 7 bursts of 20 left one worker idle and the median burst gave it 2 of the 32.
    server = start_open_server(tmp_path / "asgi", "asgi", BERTH_WORKERS="2")
    smaller = []
    try:
        for _ in range(10):
            conns = [socket.socket() for _ in range(32)]
            try:
                for conn in conns:
                    conn.setblocking(False)
                    conn.connect_ex(("127.0.0.1", server.port))
                for conn in conns:
                    conn.setblocking(True)
                    conn.settimeout(10)
                    conn.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
                assert all(conn.recv(100).startswith(b"HTTP/1.1 200") for conn in conns)
                held = held_by_each_worker(server, conns)
                assert sum(held.values()) == 32, held
                smaller.append(min(held.values()) if len(held) == 2 else 0)
            finally:
                for conn in conns:
                    conn.close()
    finally:
        server.stop()
    assert statistics.median(smaller) >= 8, smaller
