"""Request bodies read from gunicorn's own parser over a real socket, as in production.

images.api.streams reads Content-Length bodies straight from gunicorn's socket reader
(no re-buffering): the body must come out whole and exact, the bytes after it must
stay for the next request on the connection, and a body cut short must be an error.
"""

import os
import socket
import threading
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from images.api import streams
from images.errors import BlobUploadInvalid, SizeInvalid
from registry_site.server import chunked


def _serve(raw, close=True):
    """The server end of a socket whose client sends `raw` (then closes, when `close`)."""
    client, server = socket.socketpair()

    def send():
        client.sendall(raw)
        if close:
            client.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    _senders[server] = sender
    return client, server


_senders = {}


def _close(client, server):
    """Close both ends once the sender is done with its end (it may still be shutting it)."""
    _senders.pop(server).join(10)
    client.close()
    server.close()


def _body(request):
    meta = {"wsgi.input": request.body, "wsgi.input_terminated": True}
    meta.update({k.upper().replace("-", "_"): v for k, v in request.headers})
    return b"".join(streams.iter_body(SimpleNamespace(META=meta), block_size=1 << 20))


def test_a_body_comes_whole_and_the_next_pipelined_request_still_parses():
    data = os.urandom(3 * (1 << 20) + 12345)
    second = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
    head = f"PATCH /v2/a/blobs/uploads/u HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode()
    client, server = _serve(head + data + second)
    parser = RequestParser(Config(), server, ("127.0.0.1", 1))
    assert _body(next(parser)) == data
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/v2/")
    _close(client, server)


def test_a_body_shorter_than_its_content_length_is_an_error():
    head = b"PATCH /v2/a/blobs/uploads/u HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    client, server = _serve(head + b"x" * 4000)
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    with pytest.raises(SizeInvalid):
        _body(request)
    _close(client, server)


# Chunked bodies (registry_site/server/chunked.py): what docker, skopeo and podman send for every blob.


def _chunked_body(request, block_size=1 << 20):
    meta = {"wsgi.input": request.body, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}
    return b"".join(streams.iter_body(SimpleNamespace(META=meta), block_size=block_size))


def _encode(data, sizes, extension=b""):
    out, at, i = [], 0, 0
    while at < len(data):
        piece = data[at : at + sizes[i % len(sizes)]]
        out.append(b"%x%s\r\n%s\r\n" % (len(piece), extension, piece))
        at, i = at + len(piece), i + 1
    return b"".join(out)


def _patch(body, *headers):
    lines = [b"PATCH /v2/a/blobs/uploads/u HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    "length, sizes",
    [(5 << 20, [32 * 1024]), (5000, [1]), (5 << 20, [7, 300_001, 4096, 65_536]), (5 << 20, [3 << 20])],
    ids=["32k-chunks", "1-byte-chunks", "mixed-chunks", "3m-chunks"],
)
def test_a_chunked_body_comes_whole_and_the_next_pipelined_request_still_parses(length, sizes):
    data = os.urandom(length + 777)
    second = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
    client, server = _serve(_patch(_encode(data, sizes) + b"0\r\n\r\n") + second)
    parser = RequestParser(Config(), server, ("127.0.0.1", 1))
    request = next(parser)
    assert _chunked_body(request, block_size=100_000) == data
    assert not request.should_close()  # the connection carries on
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/v2/")
    _close(client, server)


def test_chunk_extensions_and_trailers_are_read_past():
    data = os.urandom(200_000)
    body = _encode(data, [65_536], extension=b';name="v"') + b"0;x=1\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n"
    client, server = _serve(_patch(body) + b"GET /v2/_catalog HTTP/1.1\r\nHost: x\r\n\r\n")
    parser = RequestParser(Config(), server, ("127.0.0.1", 1))
    assert _chunked_body(next(parser)) == data
    assert next(parser).path == "/v2/_catalog"
    _close(client, server)


@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the chunk's data
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"5 5\r\nhello\r\n0\r\n\r\n",
        b"f" * 17 + b"\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",  # a bare LF ends no chunk-size line
        b"1" * 2000,  # a size line that never ends
        b"64\r\nhello",  # the client stops mid-chunk
        b"5\r\nhello\r\n",  # no last chunk
    ],
)
def test_a_broken_chunked_body_is_an_error_and_the_connection_closes(body):
    client, server = _serve(_patch(body))
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    with pytest.raises(BlobUploadInvalid):
        _chunked_body(request)
    assert request.should_close()  # what is left on the wire is this body's, not a next request
    _close(client, server)


def test_a_connection_that_asked_to_close_still_closes_after_a_chunked_body():
    client, server = _serve(_patch(b"5\r\nhello\r\n0\r\n\r\n", b"Connection: close"))
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    assert _chunked_body(request) == b"hello"
    assert request.should_close()
    _close(client, server)


def test_a_body_gunicorn_already_started_decoding_is_left_to_gunicorn():
    data = os.urandom(300_000)
    client, server = _serve(_patch(_encode(data, [10_000]) + b"0\r\n\r\n"))
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    first = request.body.read(10)  # gunicorn's own decoder has begun
    assert chunked.take_over(request.body.reader) is None
    assert first + _chunked_body(request) == data
    _close(client, server)
