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
from images.errors import SizeInvalid


def _serve(raw, close=True):
    """The server end of a socket whose client sends `raw` (then closes, when `close`)."""
    client, server = socket.socketpair()

    def send():
        client.sendall(raw)
        if close:
            client.shutdown(socket.SHUT_WR)

    threading.Thread(target=send, daemon=True).start()
    return client, server


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
    client.close()
    server.close()


def test_a_body_shorter_than_its_content_length_is_an_error():
    head = b"PATCH /v2/a/blobs/uploads/u HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    client, server = _serve(head + b"x" * 4000)
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    with pytest.raises(SizeInvalid):
        _body(request)
    client.close()
    server.close()
