"""Responses written by gunicorn's own response code over a real socket, with Berth's header coalescing.

registry_site/server/gunicorn_response.py holds the header block back until the first body
write: a small answer must leave in one send, a large one unchanged after its headers,
and every form (HEAD, chunked, sendfile) must still be exact HTTP on the wire.
"""

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime

import pytest
from gunicorn import util
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from registry_site.server import gunicorn_response


class RecordingSocket(socket.socket):
    """The server end of a real socket pair, remembering the size of each send."""

    def sendall(self, data, *args):
        self.sends.append(len(data))
        return super().sendall(data, *args)

    def sendfile(self, file, offset=0, count=None):
        self.sends.append(("sendfile", count))
        return super().sendfile(file, offset, count)


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    monkeypatch.setattr(wsgi, "Response", wsgi.Response)  # restored after each test
    monkeypatch.setattr(util, "http_date", util.http_date)
    gunicorn_response.install()


def _exchange(request_line, headers, body_items=(), sendfile_path=None, status="200 OK", sendfile=None):
    """Parse `request_line` with gunicorn, answer it through gunicorn's response; return (sends, wire bytes)."""
    client, raw = socket.socketpair()
    server = RecordingSocket(fileno=raw.detach())
    server.sends = []
    client.sendall(f"{request_line}\r\nHost: x\r\n\r\n".encode())
    cfg = Config()
    if sendfile is None:
        sendfile = bool(sendfile_path)
    cfg.set("sendfile", None if sendfile else False)  # gunicorn: None is "on", any value "off"
    request = next(RequestParser(cfg, server, ("127.0.0.1", 1)))
    response, environ = wsgi.create(request, server, ("127.0.0.1", 1), ("127.0.0.1", 5000), cfg)
    with ThreadPoolExecutor(1) as pool:
        received = pool.submit(_read_all, client)  # a reading client: large answers don't fill the buffer
        _answer(response, environ, headers, body_items, sendfile_path, status)
        server.shutdown(socket.SHUT_WR)
        wire = received.result(timeout=30)
    client.close()
    server.close()
    return server.sends, wire


def _answer(response, environ, headers, body_items, sendfile_path, status):
    response.start_response(status, headers)
    if sendfile_path:
        with open(sendfile_path, "rb") as fh:
            response.write_file(environ["wsgi.file_wrapper"](fh))
    for item in body_items:
        response.write(item)
    response.close()


def _read_all(sock):
    wire = b""
    while chunk := sock.recv(1 << 20):
        wire += chunk
    return wire


def _split(wire):
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], dict(line.split(": ", 1) for line in lines[1:]), body


def test_a_small_answer_leaves_in_one_send():
    payload = b'{"schemaVersion": 2}'
    sends, wire = _exchange("GET /v2/a/manifests/v1 HTTP/1.1", [("Content-Length", str(len(payload)))], [payload])
    status, headers, body = _split(wire)
    assert (status, headers["Content-Length"], body) == ("HTTP/1.1 200 OK", str(len(payload)), payload)
    assert sends == [len(wire)]


def test_a_head_answer_sends_its_headers_once_and_no_body():
    sends, wire = _exchange("HEAD /v2/a/manifests/v1 HTTP/1.1", [("Content-Length", "1234")], [b""])
    status, headers, body = _split(wire)
    assert (status, headers["Content-Length"], body) == ("HTTP/1.1 200 OK", "1234", b"")
    assert sends == [len(wire)]


def test_a_large_block_follows_its_headers_uncopied():
    block = os.urandom(gunicorn_response.COALESCE_LIMIT + 1)
    sends, wire = _exchange("GET /v2/a/blobs/d HTTP/1.1", [("Content-Length", str(2 * len(block)))], [block, block])
    _, _, body = _split(wire)
    assert body == block + block
    assert sends == [len(wire) - 2 * len(block), len(block), len(block)]


def test_a_chunked_answer_starts_with_its_first_chunk_and_ends_properly():
    sends, wire = _exchange("GET /v2/_catalog HTTP/1.1", [], [b"abc", b"de"])
    status, headers, body = _split(wire)
    assert (status, headers["Transfer-Encoding"]) == ("HTTP/1.1 200 OK", "chunked")
    assert body == b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert len(sends) == 3 and sends[0] == len(wire) - len(b"2\r\nde\r\n0\r\n\r\n")


def test_sendfile_sends_the_headers_first(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(data := os.urandom(300_000))
    sends, wire = _exchange("GET /v2/a/blobs/d HTTP/1.1", [("Content-Length", str(len(data)))], sendfile_path=path)
    _, headers, body = _split(wire)
    assert (headers["Content-Length"], body) == (str(len(data)), data)
    assert sends == [len(wire) - len(data), ("sendfile", len(data))]


def test_the_date_header_is_the_time_of_the_answer():
    """The Date header is formatted once a second (gunicorn formats it per request)."""
    for _ in range(3):
        _, wire = _exchange("GET /v2/ HTTP/1.1", [("Content-Length", "0")])
        sent = parsedate_to_datetime(_split(wire)[1]["Date"]).timestamp()
        assert time.time() - 2 < sent <= time.time()
        time.sleep(0.6)
    assert util.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"  # a given time is formatted as given


def test_a_file_copied_through_one_buffer(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(data := os.urandom(300_000))
    headers = [("Content-Length", str(len(data)))]
    _, wire = _exchange("GET /v2/a/blobs/d HTTP/1.1", headers, sendfile_path=path, sendfile=False)
    assert _split(wire)[2] == data


def test_a_head_answer_for_a_file_has_no_body(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(300_000))
    for sendfile in (False, True):
        headers = [("Content-Length", "300000")]
        _, wire = _exchange("HEAD /v2/a/blobs/d HTTP/1.1", headers, sendfile_path=path, sendfile=sendfile)
        status, headers, body = _split(wire)
        assert (status, headers["Content-Length"], body) == ("HTTP/1.1 200 OK", "300000", b"")


def test_a_204_keeps_its_content_length():
    """An upload's status (GET on the upload, the distribution spec's 204 with Content-Length: 0): gunicorn
    27 drops a 204's Content-Length; clients saw it under gunicorn 23 and still do."""
    headers = [("Content-Length", "0"), ("Range", "0-9")]
    _, wire = _exchange("GET /v2/a/blobs/uploads/u HTTP/1.1", headers, status="204 No Content")
    status, headers, body = _split(wire)
    assert (status, headers.get("Content-Length"), headers["Range"], body) == (
        "HTTP/1.1 204 No Content",
        "0",
        "0-9",
        b"",
    )
