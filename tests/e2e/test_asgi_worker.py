"""Berth under gunicorn 27's asgi worker (BERTH_WORKER=asgi: registry_site/server/asgi_worker.py, asgi_bridge.py).

The suites that matter run against it through fixtures (docker push/pull, skopeo, the large layer, downloads,
the TLS probe, the hostile wire cases, an authorised skopeo copy); here is what is particular to the worker:
the registry's reads answered in the loop, the database connections it keeps, a big blob streamed both ways
in bounded memory, bodies cut by the client, keep-alive and a clean stop.
"""

import hashlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.ops_helpers import start_open_server
from tests.e2e.registry_api import push_blob, put_manifest
from tests.e2e.servers import peak_rss_kib

pytestmark = pytest.mark.e2e

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _image(url, name, tags):
    config = push_blob(url, name, b'{"architecture":"amd64","os":"linux"}')
    layer_data = os.urandom(1000)
    layer = push_blob(url, name, layer_data)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 37},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 1000}],
        }
    ).encode()
    for tag in tags:
        assert put_manifest(url, name, tag, manifest, OCI_MANIFEST).status_code == 201
    return "sha256:" + hashlib.sha256(manifest).hexdigest(), manifest, layer, layer_data


def test_registry_reads(berth_asgi):
    url = berth_asgi.url
    digest, manifest, layer, layer_data = _image(url, "asgi/reads", ["a", "b", "c"])

    root = requests.get(f"{url}/v2/", timeout=10)
    assert root.status_code == 200 and root.json() == {}
    assert root.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert root.headers["X-Request-Id"]
    for reference in ("a", digest):
        got = requests.get(f"{url}/v2/asgi/reads/manifests/{reference}", headers={"Accept": OCI_MANIFEST}, timeout=10)
        assert got.status_code == 200 and got.content == manifest
        assert got.headers["Docker-Content-Digest"] == digest
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Content-Length"] == str(len(manifest))
        head = requests.head(f"{url}/v2/asgi/reads/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(manifest))
        assert head.headers["Docker-Content-Digest"] == digest

    page = requests.get(f"{url}/v2/asgi/reads/tags/list?n=2", timeout=10)
    assert page.json() == {"name": "asgi/reads", "tags": ["a", "b"]}
    assert page.headers["Link"] == '</v2/asgi/reads/tags/list?n=2&last=b>; rel="next"'
    rest = requests.get(f"{url}/v2/asgi/reads/tags/list?n=2&last=b", timeout=10)
    assert rest.json() == {"name": "asgi/reads", "tags": ["c"]}
    catalog = requests.get(f"{url}/v2/_catalog?n=100", timeout=10).json()
    assert "asgi/reads" in catalog["repositories"]

    blob = requests.head(f"{url}/v2/asgi/reads/blobs/{layer}", timeout=10)
    assert blob.status_code == 200 and blob.headers["Content-Length"] == "1000"
    assert requests.get(f"{url}/v2/asgi/reads/blobs/{layer}", timeout=10).content == layer_data

    missing = requests.get(f"{url}/v2/asgi/reads/manifests/nope", timeout=10)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    unknown = requests.get(f"{url}/v2/asgi/nothing/tags/list", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    bad = requests.get(f"{url}/v2/ASGI/Bad/tags/list", timeout=10)
    assert bad.status_code in (400, 404) and bad.json()["errors"][0]["code"] == "NAME_INVALID"


def _database_handles(server):
    """Database connections the workers hold: SQLite file handles in /proc, or sessions PostgreSQL lists."""
    if server.database.is_postgres:
        conn = server.database._admin_connection()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [server.database.name])
                return cur.fetchone()[0]
        finally:
            conn.close()
    database = str(server.workdir / "berth-e2e.sqlite3")
    count = 0
    for pid in server.worker_pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                count += os.readlink(fd) == database
            except OSError:
                pass
    return count


def test_database_connections_are_kept_not_opened_per_request(berth_asgi):
    """In-loop reads share one connection per worker (one context); each pool thread keeps its own."""
    url = berth_asgi.url
    _image(url, "asgi/conns", ["1"])
    with requests.Session() as http:
        for _ in range(50):  # in the loop
            assert http.get(f"{url}/v2/asgi/conns/manifests/1", headers={"Accept": OCI_MANIFEST}).status_code == 200
            assert http.get(f"{url}/v2/asgi/conns/tags/list").status_code == 200
    before = _database_handles(berth_asgi)
    for _ in range(100):
        assert requests.get(f"{url}/v2/asgi/conns/manifests/1", headers={"Accept": OCI_MANIFEST}).status_code == 200
        assert requests.get(f"{url}/v2/_catalog").status_code == 200
        assert requests.get(f"{url}/v2/asgi/conns/blobs/uploads/nope").status_code == 404  # a pool thread
    after = _database_handles(berth_asgi)
    workers, threads = 2, 8  # a connection per pool thread at most, one for each loop, a couple in the background
    assert after <= workers * (1 + threads) + 2, f"{before}, then {after} database connections after 300 requests"


def test_a_big_blob_streams_both_ways_in_bounded_memory(berth_asgi):
    size = 256 << 20
    block = os.urandom(1 << 20)
    digest = "sha256:" + hashlib.sha256(block * (size // len(block))).hexdigest()
    url = berth_asgi.url
    for _ in range(5):
        requests.get(f"{url}/v2/", timeout=10)
    baseline = {pid: peak_rss_kib(pid) for pid in berth_asgi.worker_pids()}

    def chunks():  # Transfer-Encoding: chunked, as docker sends layers
        for _ in range(size // len(block)):
            yield block

    start = requests.post(f"{url}/v2/asgi/big/blobs/uploads/", timeout=30)
    assert start.status_code == 202
    pushed = requests.put(f"{url}{start.headers['Location']}?digest={digest}", data=chunks(), timeout=600)
    assert pushed.status_code == 201, pushed.text

    got = hashlib.sha256()
    with requests.get(f"{url}/v2/asgi/big/blobs/{digest}", stream=True, timeout=600) as response:
        assert response.status_code == 200 and response.headers["Content-Length"] == str(size)
        received = 0
        for data in response.iter_content(1 << 20):
            got.update(data)
            received += len(data)
    assert received == size and "sha256:" + got.hexdigest() == digest

    grown = {pid: peak_rss_kib(pid) - kib for pid, kib in baseline.items() if pid in berth_asgi.worker_pids()}
    print(f"asgi workers: peak RSS growth during a {size >> 20} MiB push and pull: {grown} KiB")
    assert grown and max(grown.values()) < 48 * 1024, grown


def _raw(server, data, shutdown=True):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(data)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_download_the_client_abandons_frees_its_thread(berth_asgi):
    """A client that stops reading a big blob and goes: the pool thread stops too, and the server carries on."""
    data = os.urandom(64 << 20)
    digest = push_blob(berth_asgi.url, "asgi/abandon", data)
    for _ in range(20):  # more abandoned downloads than the two workers have threads
        with socket.create_connection(("127.0.0.1", berth_asgi.port), timeout=30) as sock:
            sock.sendall(f"GET /v2/asgi/abandon/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 30
    while True:
        try:
            part = requests.get(
                f"{berth_asgi.url}/v2/asgi/abandon/blobs/{digest}", headers={"Range": "bytes=0-9"}, timeout=5
            )
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, "the pool stayed busy with abandoned downloads"
    assert part.status_code == 206 and part.content == data[:10]


def test_a_half_closed_client_gets_its_answer(berth_asgi):
    """The client sends a request and shuts its side (as the hostile suite does): the answer still comes."""
    answer = _raw(berth_asgi, b"GET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"}")  # and then the server closed


def test_keep_alive_and_pipelining(berth_asgi):
    one = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /v2/_catalog HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _raw(berth_asgi, one + one + last, shutdown=False)
    assert answer.count(b"HTTP/1.1 200 OK") == 3


def test_status_lines_keep_their_reason(berth_asgi):
    """gunicorn's own table names 35 statuses; the worker gives every other its phrase (416, not "Unknown")."""
    digest = push_blob(berth_asgi.url, "asgi/range", b"0123456789")
    answer = _raw(
        berth_asgi, f"GET /v2/asgi/range/blobs/{digest} HTTP/1.1\r\nHost: x\r\nRange: bytes=50-60\r\n\r\n".encode()
    )
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 416 ") and b"Range Not Satisfiable" in status_line, status_line


def test_a_worker_with_stalled_uploads_stops_when_their_clients_go(tmp_path):
    """SIGTERM while every pool thread waits on an upload's body; the clients then close: the answers go to
    sockets that are gone, every connection is closed and the workers exit (gunicorn's close skipped that)."""
    server = start_open_server(tmp_path / "berth", BERTH_WORKER="asgi", BERTH_WORKERS="2", BERTH_THREADS="2")
    try:
        uploads = [requests.post(f"{server.url}/v2/slow/app/blobs/uploads/", timeout=10) for _ in range(4)]
        conns = []
        for upload in uploads:
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            head = (
                f"PATCH {upload.headers['Location']} HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 100000000\r\n\r\n"
            )
            conn.sendall(head.encode() + b"x" * 1000)
            conns.append(conn)
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1)
        for conn in conns:
            conn.close()
        assert server.proc.wait(timeout=30) == 0
        log = server.log.read_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        server.stop()
