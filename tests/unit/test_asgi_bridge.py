"""registry_site/server/asgi_bridge.py without a server: the environ gunicorn's WSGI worker would give, the request
body fed from ASGI `receive` (whole, cut, broken), which requests run in the loop's thread, and the one context
(one database connection) of the in-loop calls against a connection per pool thread."""

import asyncio
import io
import os
import threading
import time

import pytest
from django.db import connections

from images.errors import BlobUploadInvalid, SizeInvalid
from registry_site.server import asgi_bridge, asgi_routing, bodies
from registry_site.server.asgi_bridge import (
    SENDFILE_MIN,
    BerthASGI,
    BrokenBody,
    ClientGone,
    FileWrapper,
    RequestInput,
    environ,
)


def scope(method="GET", raw_path=b"/v2/", query=b"", headers=(), **extra):
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path.decode("latin-1"),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "server": ("127.0.0.1", 5000),
        "client": ("10.1.2.3", 40123),
        **extra,
    }


def test_environ_is_what_gunicorns_wsgi_worker_gives():
    meta = environ(
        scope(
            "PUT",
            b"/v2/team/app/manifests/%E2%9C%93",
            b"a=1&b=%20",
            [
                (b"host", b"registry.example:5000"),
                (b"content-type", b"application/vnd.oci.image.manifest.v1+json"),
                (b"content-length", b"12"),
                (b"authorization", b"Bearer abc"),
                (b"x-forwarded-for", b"1.1.1.1"),
                (b"x-forwarded-for", b"2.2.2.2"),
                (b"user-agent", b"docker/27"),
            ],
        ),
        script_name="",
    )
    assert meta["REQUEST_METHOD"] == "PUT"
    assert meta["PATH_INFO"] == "/v2/team/app/manifests/\xe2\x9c\x93"  # PEP 3333: bytes as latin-1
    assert meta["QUERY_STRING"] == "a=1&b=%20"
    assert meta["RAW_URI"] == "/v2/team/app/manifests/%E2%9C%93?a=1&b=%20"
    assert meta["SCRIPT_NAME"] == ""
    assert meta["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert meta["CONTENT_TYPE"] == "application/vnd.oci.image.manifest.v1+json"
    assert meta["CONTENT_LENGTH"] == "12"
    assert "HTTP_CONTENT_TYPE" not in meta and "HTTP_CONTENT_LENGTH" not in meta
    assert meta["HTTP_HOST"] == "registry.example:5000"
    assert meta["HTTP_AUTHORIZATION"] == "Bearer abc"
    assert meta["HTTP_X_FORWARDED_FOR"] == "1.1.1.1,2.2.2.2"  # repeated fields joined, as gunicorn does
    assert meta["HTTP_USER_AGENT"] == "docker/27"
    assert (meta["REMOTE_ADDR"], meta["REMOTE_PORT"]) == ("10.1.2.3", "40123")
    assert (meta["SERVER_NAME"], meta["SERVER_PORT"]) == ("127.0.0.1", "5000")
    assert meta["wsgi.url_scheme"] == "http"
    assert meta["wsgi.input_terminated"] is True
    assert meta["wsgi.multithread"] is True


def test_environ_of_bad_bytes_script_name_unix_socket_and_absolute_target():
    meta = environ(scope(raw_path=b"/v2/%ff%fe/tags/list"), script_name="")
    assert meta["PATH_INFO"] == "/v2/\xff\xfe/tags/list"  # not U+FFFD: the registry sees the bad name
    meta = environ(scope(raw_path=b"/registry/v2/"), script_name="/registry")
    assert (meta["SCRIPT_NAME"], meta["PATH_INFO"]) == ("/registry", "/v2/")
    with pytest.raises(ValueError):
        environ(scope(raw_path=b"/other/v2/"), script_name="/registry")
    meta = environ(scope(server=None, client=None, headers=[(b"host", b"reg.example")]), script_name="")
    assert (meta["SERVER_NAME"], meta["SERVER_PORT"], meta["REMOTE_ADDR"]) == ("reg.example", "80", "")
    meta = environ(scope(raw_path=b"http://reg.example/v2/_catalog"), script_name="")
    assert meta["PATH_INFO"] == "/v2/_catalog"


@pytest.mark.parametrize(
    "method, path, headers, expected",
    [
        ("GET", "/v2/", {}, True),
        ("HEAD", "/v2/", {}, True),
        ("GET", "/v2/_catalog", {}, True),
        ("GET", "/v2/team/app/tags/list", {}, True),
        ("GET", "/v2/team/app/manifests/latest", {}, True),
        ("HEAD", "/v2/team/app/manifests/latest", {}, True),
        ("HEAD", "/v2/team/app/blobs/sha256:" + "a" * 64, {}, True),
        ("GET", "/v2/team/app/blobs/sha256:" + "a" * 64, {}, False),  # a blob's bytes: a pool thread
        ("PUT", "/v2/team/app/manifests/latest", {}, False),
        ("DELETE", "/v2/team/app/manifests/latest", {}, False),
        ("GET", "/v2/team/app/blobs/uploads/abc", {}, False),
        ("GET", "/v2/team/app/referrers/sha256:" + "a" * 64, {}, False),
        ("GET", "/", {}, False),
        ("GET", "/api/repositories/", {}, False),
        ("GET", "/v1/_ping", {}, False),
    ],
)
def test_which_requests_are_answered_in_the_loop(db, method, path, headers, expected):
    meta = {"REQUEST_METHOD": method, "PATH_INFO": path, **headers}
    assert asgi_routing.in_loop(meta) is expected


def test_a_request_with_a_body_never_runs_in_the_loop():
    assert asgi_bridge.has_body({"CONTENT_LENGTH": "3"})
    assert asgi_bridge.has_body({"HTTP_TRANSFER_ENCODING": "chunked"})
    assert not asgi_bridge.has_body({"CONTENT_LENGTH": "0"})
    assert not asgi_bridge.has_body({})


# --- request bodies read in a thread from ASGI receive --------------------------------------------------


class Receiver:
    """ASGI receive over a list of messages, counting how often it is called; `buffered` as gunicorn's tells."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.calls = 0

    @property
    def buffered(self):
        return sum(len(m.get("body", b"")) for m in self.messages)

    async def receive(self):
        self.calls += 1
        await asyncio.sleep(0)
        return self.messages.pop(0)


def body(*parts, end=True):
    messages = [{"type": "http.request", "body": part, "more_body": True} for part in parts]
    if end:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    else:
        messages.append({"type": "http.disconnect"})
    return messages


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def reader(loop, messages, chunked=False):
    receiver = Receiver(messages)
    return RequestInput(asgi_bridge._Loop(loop), receiver.receive, chunked), receiver


def test_read_sizes_readline_and_iteration(loop):
    stream, _ = reader(loop, body(b"line one\nline", b" two\n", b"tail"))
    assert stream.read(4) == b"line"
    assert stream.readline() == b" one\n"
    assert stream.readline(3) == b"lin"
    assert list(stream) == [b"e two\n", b"tail"]
    assert stream.read() == b"" and stream.read(10) == b""


def test_read_all_and_readinto(loop):
    stream, _ = reader(loop, body(b"abc", b"def"))
    buffer = bytearray(4)
    assert stream.readinto(buffer) == 4 and bytes(buffer) == b"abcd"
    assert stream.read() == b"ef"


def test_what_has_arrived_is_taken_in_one_hop(loop):
    stream, receiver = reader(loop, body(*[b"x" * 1000] * 50))
    assert stream.read(1) == b"x"
    assert receiver.calls == 50  # every message that had arrived, in one trip to the loop
    assert len(stream.read()) == 49_999


def test_a_cut_content_length_body_ends_short_as_under_gthread(loop):
    """bodies.blocks then says SIZE_INVALID ("shorter than Content-Length"), as gunicorn's LengthReader made it."""
    stream, _ = reader(loop, body(b"hello", end=False))
    meta = {"CONTENT_LENGTH": "100", "wsgi.input": stream, "wsgi.input_terminated": True}
    with pytest.raises(SizeInvalid):
        list(bodies.blocks(meta, 1 << 20))


def test_a_cut_or_broken_chunked_body_raises_as_under_gthread(loop):
    """http.disconnect before the end of a chunked body: an OSError, BLOB_UPLOAD_INVALID for the registry."""
    stream, _ = reader(loop, body(b"hello", end=False), chunked=True)
    assert stream.read(5) == b"hello"
    with pytest.raises(BrokenBody) as raised:
        stream.read(5)
    assert isinstance(raised.value, OSError)
    stream, _ = reader(loop, body(b"hello", end=False), chunked=True)
    meta = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": stream, "wsgi.input_terminated": True}
    with pytest.raises(BlobUploadInvalid):
        list(bodies.blocks(meta, 1 << 20))


def test_a_stopped_loop_ends_a_waiting_read(loop):
    async def never():
        await asyncio.sleep(3600)

    stream = RequestInput(asgi_bridge._Loop(loop), never, chunked=True)
    loop.call_soon_threadsafe(loop.stop)
    while loop.is_running():
        time.sleep(0.01)
    with pytest.raises(ClientGone):
        stream.read(1)


# --- the application: where each request runs, its database connection, its answer ------------------------


def connection_app(environ, start_response):
    """A WSGI app answering with the identity of the thread and of its database connection object."""
    if environ.get("CONTENT_LENGTH"):
        environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{threading.get_ident()} {id(connections['default'])}".encode()]


def run_requests(app, scopes):
    async def main():
        results = []
        for item in scopes:
            sent = []

            async def send(message, sent=sent):
                sent.append(message)

            async def receive():
                return {"type": "http.request", "body": b"x", "more_body": False}

            await asyncio.create_task(app(item, receive, send))  # a task (and a context) per request
            results.append((sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode().split()))
        return results

    loop = asyncio.new_event_loop()
    try:
        return threading.get_ident(), loop.run_until_complete(main())
    finally:
        loop.close()


def test_in_loop_calls_share_one_connection_and_pool_threads_keep_theirs():
    app = BerthASGI(connection_app, threads=2)
    reads = [scope("GET", b"/v2/") for _ in range(5)]
    writes = [scope("PUT", b"/v2/team/app/manifests/x", headers=[(b"content-length", b"1")]) for _ in range(6)]
    try:
        loop_thread, results = run_requests(app, reads + writes)
    finally:
        app.stop()
    read_answers, write_answers = results[:5], results[5:]
    assert {status for status, _ in results} == {200}
    assert {int(thread) for _, (thread, _) in read_answers} == {loop_thread}
    assert len({conn for _, (_, conn) in read_answers}) == 1  # one context: one connection for all in-loop calls
    threads = {}
    for _, (thread, conn) in write_answers:
        assert int(thread) != loop_thread
        threads.setdefault(thread, set()).add(conn)
    assert 1 <= len(threads) <= 2 and all(len(conns) == 1 for conns in threads.values())


def test_head_sends_no_body_and_closes_the_response():
    closed = []

    class Result(list):
        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "5"), ("Connection", "keep-alive")])
        return Result([b"hello"])

    bridge = BerthASGI(app, threads=1)
    try:
        _, results = run_requests(bridge, [scope("HEAD", b"/v2/team/app/blobs/uploads/x")])
    finally:
        bridge.stop()
    assert results == [(200, [])]
    assert closed == [True]


def test_reads_of_a_proxied_name_go_to_the_pool(db):
    """A pull-through cache's read may fetch from upstream: never in the loop, where it would stall every client."""
    from proxy import routing
    from proxy.models import Proxy

    Proxy.objects.create(namespace="hub", upstream_url="https://registry-1.docker.io")
    routing.invalidate()
    try:
        for method, path in [
            ("GET", "/v2/hub/library/alpine/manifests/latest"),
            ("HEAD", "/v2/hub/library/alpine/manifests/latest"),
            ("GET", "/v2/hub/library/alpine/tags/list"),
            ("HEAD", "/v2/hub/library/alpine/blobs/sha256:" + "a" * 64),
        ]:
            assert asgi_routing.in_loop({"REQUEST_METHOD": method, "PATH_INFO": path}) is False, (method, path)
        assert asgi_routing.in_loop({"REQUEST_METHOD": "GET", "PATH_INFO": "/v2/team/app/manifests/latest"}) is True
        assert asgi_routing.in_loop({"REQUEST_METHOD": "GET", "PATH_INFO": "/v2/_catalog"}) is True
    finally:
        routing.invalidate()


# --- a file on disk: which answers go to the server's sendfile, and which bytes ------------------------------------


def test_file_extent_is_the_content_length_from_the_files_position(tmp_path):
    """What the server's sendfile is given: the bytes gunicorn's WSGI sendfile() sends (Content-Length bytes from
    where bytes_response left the file), for a whole file and a Range's FileSpan alike."""
    from images.api.responses import FileSpan

    path = tmp_path / "blob"
    path.write_bytes(os.urandom(SENDFILE_MIN * 3))
    with open(path, "rb") as whole:
        assert asgi_bridge.file_extent(FileWrapper(whole), SENDFILE_MIN * 3) == (whole, 0, SENDFILE_MIN * 3)
    with open(path, "rb") as handle:
        handle.seek(1000)
        span = FileSpan(handle, SENDFILE_MIN + 1)
        assert asgi_bridge.file_extent(FileWrapper(span), SENDFILE_MIN + 1) == (span, 1000, SENDFILE_MIN + 1)


def test_what_goes_block_by_block(tmp_path):
    """A small file (sent with its header block in one write), an answer without a Content-Length, a body that is not
    a file on disk, or not a regular file: the blocks, as before."""
    path = tmp_path / "blob"
    path.write_bytes(b"x" * SENDFILE_MIN)
    with open(path, "rb") as file:
        assert asgi_bridge.file_extent(FileWrapper(file), SENDFILE_MIN - 1) is None
        assert asgi_bridge.file_extent(FileWrapper(file), None) is None
        assert asgi_bridge.file_extent([b"x" * SENDFILE_MIN], SENDFILE_MIN) is None
    assert asgi_bridge.file_extent(FileWrapper(io.BytesIO(b"x" * SENDFILE_MIN)), SENDFILE_MIN) is None
    closed = open(path, "rb")  # noqa: SIM115 - closed at once
    closed.close()
    assert asgi_bridge.file_extent(FileWrapper(closed), SENDFILE_MIN) is None
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as pipe, open(write_end, "wb"):
        assert asgi_bridge.file_extent(FileWrapper(pipe), SENDFILE_MIN) is None


def test_the_content_length_of_an_answer():
    response = asgi_bridge._Response("GET")
    response.start_response("200 OK", [("Content-Type", "x"), ("Content-Length", "123")])
    assert response.content_length() == 123
    response.start_response("200 OK", [("Content-Type", "x")])
    assert response.content_length() is None
    response.start_response("200 OK", [("content-length", "12x")])
    assert response.content_length() is None


def test_a_cancelled_request_cancels_the_call_it_waits_for(loop):
    """The request's task cancelled (the worker's grace after a disconnect, a stop): what its thread waits for on
    the loop (a send, a file's transfer) is cancelled at once, and the thread ends with ClientGone."""
    calls = asgi_bridge._Loop(loop)
    started, ended = threading.Event(), []

    async def transfer():
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise

    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_raised(calls.call, transfer())))
    thread.start()
    assert started.wait(5)
    loop.call_soon_threadsafe(calls.abandon)
    thread.join(5)
    assert outcome == [ClientGone] and calls.pending is None
    deadline = time.monotonic() + 5
    while not ended and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended == ["cancelled"]


def _raised(function, *args):
    try:
        function(*args)
    except Exception as exc:
        return type(exc)
    return None
