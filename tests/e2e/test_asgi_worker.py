"""Berth under gunicorn 27's asgi worker (BERTH_WORKER=asgi: registry_site/server/asgi_worker.py, asgi_bridge.py).

The suites that matter run against it through fixtures (docker push/pull, skopeo, the large layer, downloads,
the TLS probe, the hostile wire cases, an authorised skopeo copy); here is what is particular to the worker:
the registry's reads answered in the loop, the database connections it keeps, a big blob streamed both ways
in bounded memory, bodies cut by the client, keep-alive and a clean stop, blobs on disk sent by sendfile from the
loop (the same answers as without it).
"""

import hashlib
import json
import os
import re
import signal
import socket
import struct
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


def test_a_body_left_unread_is_drained_and_the_connection_kept(berth_asgi):
    """An error answered without reading the request body (a PATCH of 8 MiB to an unknown upload): the rest of
    the body is read and dropped, the connection kept (gunicorn alone closes it after an answer that announced
    keep-alive: the client's next request on it met a closed socket)."""
    body = os.urandom(8 << 20)
    with requests.Session() as session:
        for attempt in range(4):
            url = f"{berth_asgi.url}/v2/asgi/unread/blobs/uploads/{attempt:08d}-0000-4000-8000-000000000000"
            answer = session.patch(url, data=body, timeout=60)
            assert answer.status_code == 404, answer.text
            assert answer.headers.get("Connection", "").lower() != "close"
            assert session.get(f"{berth_asgi.url}/v2/", timeout=30).status_code == 200


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


# --- a blob on disk: sendfile from the loop (asgi_worker.py, SENDFILE_EXTENSION), as the answer without it ---------

SENDFILE_SIZE = 3 * 1024 * 1024 + 12345  # several MiB, the end not on a block boundary
VARYING = {"date", "x-request-id"}


def _answer(sock, buffered=b"", head=False):
    """One answer read from `sock`: (status, [(name, value)...], body, what was read past it)."""
    buffered = bytearray(buffered)
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(1 << 20)
        assert chunk, f"the connection ended before the header block: {bytes(buffered[:200])!r}"
        buffered += chunk
    end = buffered.index(b"\r\n\r\n")
    lines = buffered[:end].decode("latin-1").split("\r\n")
    del buffered[: end + 4]
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    length = 0 if head else int(dict((name.lower(), value) for name, value in headers).get("content-length", 0))
    while len(buffered) < length:
        chunk = sock.recv(1 << 20)
        assert chunk, f"the connection ended {length - len(buffered)} bytes before the body's end"
        buffered += chunk
    return int(lines[0].split(" ", 2)[1]), headers, bytes(buffered[:length]), bytes(buffered[length:])


def _ask(server, request, head=False):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        status, headers, body, rest = _answer(sock, head=head)
    assert rest == b""
    return status, [(name, value) for name, value in headers if name.lower() not in VARYING], body


def _blob_requests(name, digest):
    target = f"/v2/{name}/blobs/{digest}"
    return [
        (f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (f"GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=1048575-2097157\r\n\r\n", False),  # across blocks
        (f"GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=100-\r\n\r\n", False),  # to the end
        (f"GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=-70000\r\n\r\n", False),  # a suffix over 64 KiB
        (f"GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes=5-9\r\n\r\n", False),  # small: block by block
        (f"GET {target} HTTP/1.1\r\nHost: x\r\nRange: bytes={SENDFILE_SIZE}-\r\n\r\n", False),  # 416
        (f"HEAD {target} HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (f"GET {target} HTTP/1.0\r\n\r\n", False),
    ]


def test_blob_answers_by_sendfile_are_the_answers_without_it(berth_asgi, tmp_path):
    """Status, headers and bytes of blob GETs (whole, ranges, HEAD, 416, HTTP/1.0) with sendfile (the default under
    asgi) and without (BERTH_SENDFILE=false: the blocks of before) are the same, and the bytes are the blob's."""
    data = os.urandom(SENDFILE_SIZE)
    copying = start_open_server(tmp_path / "berth", BERTH_WORKER="asgi", BERTH_SENDFILE="false")
    try:
        for server in (berth_asgi, copying):
            digest = push_blob(server.url, "asgi/same", data)
        for request, head in _blob_requests("asgi/same", digest):
            sent = _ask(berth_asgi, request.encode(), head)
            copied = _ask(copying, request.encode(), head)
            assert sent == copied, request
            status, headers, body = sent
            fields = dict((name.lower(), value) for name, value in headers)
            if status == 206:
                first, last = map(int, fields["content-range"].split(" ")[1].split("/")[0].split("-"))
                assert body == data[first : last + 1], request
            elif status == 200 and not head:
                assert body == data, request
            assert status != 206 or fields["content-length"] == str(len(body)), request
    finally:
        copying.stop()


def _thread_reads(server):
    """Bytes read (rchar: read(), sendfile()...) by the workers' main threads, where the event loop runs."""
    return sum(int(Path(f"/proc/{pid}/task/{pid}/io").read_text().split()[1]) for pid in server.worker_pids())


def test_the_event_loop_sends_the_file(berth_asgi):
    """The blob's bytes are read by the loop's thread (the kernel's sendfile), not by a pool thread and handed over."""
    data = os.urandom(SENDFILE_SIZE)
    digest = push_blob(berth_asgi.url, "asgi/loop", data)
    before = _thread_reads(berth_asgi)
    got = requests.get(f"{berth_asgi.url}/v2/asgi/loop/blobs/{digest}", timeout=30)
    assert got.status_code == 200 and got.content == data
    assert _thread_reads(berth_asgi) - before >= SENDFILE_SIZE


def test_keep_alive_after_sendfile_answers_and_their_bytes_counted(berth_asgi):
    """Answers sent by sendfile leave the connection open for the next request (in turn and pipelined), and the
    access log and the bytes-out metric count their bytes."""
    data = os.urandom(SENDFILE_SIZE)
    name = "asgi/keep"
    digest = push_blob(berth_asgi.url, name, data)
    whole = f"GET /v2/{name}/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    part = f"GET /v2/{name}/blobs/{digest} HTTP/1.1\r\nHost: x\r\nRange: bytes=65536-1048576\r\n\r\n".encode()
    counted_before = _bytes_out(berth_asgi)
    with socket.create_connection(("127.0.0.1", berth_asgi.port), timeout=30) as sock:
        sock.sendall(whole)
        status, headers, body, rest = _answer(sock)
        assert (status, body, rest) == (200, data, b"")
        assert ("Connection", "close") not in headers
        sock.sendall(part)
        status, _, body, rest = _answer(sock)
        assert (status, body, rest) == (206, data[65536:1048577], b"")
        sock.sendall(part + whole + b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")  # pipelined
        status, _, body, rest = _answer(sock)
        assert (status, body) == (206, data[65536:1048577])
        status, _, body, rest = _answer(sock, rest)
        assert (status, body) == (200, data)
        status, _, body, rest = _answer(sock, rest)
        assert (status, body, rest) == (200, b"{}", b"")
    line = f'"GET /v2/{name}/blobs/{digest} HTTP/1.1" 200 {SENDFILE_SIZE} '
    deadline = time.monotonic() + 10
    while berth_asgi.log.read_text().count(line) < 2 or _bytes_out(berth_asgi) < counted_before + 2 * len(data):
        assert time.monotonic() < deadline, (berth_asgi.log.read_text()[-2000:], _bytes_out(berth_asgi))
        time.sleep(0.2)
    assert f'"GET /v2/{name}/blobs/{digest} HTTP/1.1" 206 {1048577 - 65536} ' in berth_asgi.log.read_text()


def _bytes_out(server):
    """Berth's bytes-out metric, every route."""
    lines = requests.get(f"{server.url}/metrics", timeout=10).text.splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("berth_http_response_bytes_total{"))


def _open_files(server, digest):
    count = 0
    for pid in server.worker_pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                count += digest.split(":")[1] in os.readlink(fd)
            except OSError:
                pass
    return count


def test_clients_gone_in_the_middle_of_sendfile(berth_asgi):
    """Clients that go in the middle of a big blob (reset, or closed): every file is closed, the pool threads are
    free (more clients than threads), the access log counts what went, and the worker serves the next ones."""
    data = os.urandom(64 << 20)
    digest = push_blob(berth_asgi.url, "asgi/gone", data)
    for number in range(20):
        sock = socket.create_connection(("127.0.0.1", berth_asgi.port), timeout=30)
        sock.sendall(f"GET /v2/asgi/gone/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(1 << 20).startswith(b"HTTP/1.1 200")
        if number % 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
        sock.close()
    deadline = time.monotonic() + 30
    while _open_files(berth_asgi, digest):
        assert time.monotonic() < deadline, "a blob file stayed open after its client went"
        time.sleep(0.2)
    with requests.Session() as http:  # 20 pool requests in turn, and a whole blob: nothing is held
        for _ in range(20):
            assert http.get(f"{berth_asgi.url}/v2/asgi/gone/blobs/uploads/nope", timeout=10).status_code == 404
        got = http.get(f"{berth_asgi.url}/v2/asgi/gone/blobs/{digest}", timeout=60)
    assert got.status_code == 200 and got.content == data
    time.sleep(1.5)  # the access log's batch
    sent = sorted(
        map(int, re.findall(rf'"GET /v2/asgi/gone/blobs/{digest} HTTP/1.1" 200 (\d+) ', berth_asgi.log.read_text()))
    )
    assert len(sent) == 21 and sent[0] < len(data) and sent[-1] == len(data), sent


def test_a_worker_stopping_during_a_sendfile_ends_when_its_client_goes(tmp_path):
    """SIGTERM while a client holds a big blob's transfer without reading: the worker waits for it (graceful), and
    when the client goes, the transfer ends, its thread and connection are released and the worker exits at once,
    not at the graceful timeout (60 s)."""
    server = start_open_server(tmp_path / "berth", BERTH_WORKER="asgi", BERTH_WORKERS="1")
    try:
        digest = push_blob(server.url, "asgi/stall", os.urandom(64 << 20))
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(f"GET /v2/asgi/stall/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)  # the socket's buffers fill; the transfer waits for room
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert server.proc.poll() is None  # a transfer in flight is given the graceful timeout
        sock.close()
        started = time.monotonic()
        assert server.proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
        log = server.log.read_text()
        assert "Traceback" not in log and "Forcing close" not in log, log[-3000:]
    finally:
        server.stop()
