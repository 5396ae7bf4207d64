"""A counting, fault-injecting HTTP pass-through in front of a REAL upstream registry.

    proxy = CountingProxy("http://127.0.0.1:5001").start()
    proxy.url                       # point the client here
    proxy.requests("/v2/token")     # requests whose path starts with this (query string left out)
    proxy.body_bytes("/v2/a/blobs/")# response body bytes sent downstream for matching paths
    proxy.fault(r"/blobs/sha256:", cut_after=1000)         # send 1000 body bytes, then close
    proxy.fault(r"/manifests/", status=500, times=2)       # answer 500 twice, then pass through
    proxy.fault(r"/blobs/", status=429, headers={"Retry-After": "7"})
    proxy.fault(r"/blobs/", corrupt=True)                  # same length, different bytes
    proxy.fault(r"/v2/", garbage=True)                     # not HTTP at all, then close

Requests go upstream unchanged (the Host header included, so the upstream's absolute URLs and
token realms point back at the proxy and are counted too). Only 127.0.0.1.
"""

import http.client
import re
import select
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
BLOCK = 64 * 1024


@dataclass
class Fault:
    pattern: re.Pattern
    method: str | None = None
    status: int | None = None
    headers: dict = field(default_factory=dict)
    cut_after: int | None = None
    corrupt: bool = False
    garbage: bool = False
    times: int | None = None  # None: every matching request
    used: int = 0

    def matches(self, method, path):
        if self.method and self.method != method:
            return False
        if self.times is not None and self.used >= self.times:
            return False
        return bool(self.pattern.search(path))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        """A client that hangs up (an idle kept-alive connection, a pull cut short) is not an error."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class CountingProxy:
    def __init__(self, upstream_url):
        parts = urlsplit(upstream_url)
        assert parts.scheme == "http" and parts.hostname == "127.0.0.1", upstream_url
        self.upstream = (parts.hostname, parts.port or 80)
        self._lock = threading.Lock()
        self._faults = []
        self.reset()
        self.server = None
        self.thread = None

    # ---------------------------------------------------------------- control

    def start(self):
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, name="counting-proxy", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.host}"

    def reset(self):
        with self._lock:
            self.log = []  # (method, path, status, body bytes sent downstream)
            self._faults = []

    def fault(
        self,
        pattern,
        *,
        method=None,
        status=None,
        headers=None,
        cut_after=None,
        corrupt=False,
        garbage=False,
        times=None,
    ):
        found = Fault(re.compile(pattern), method, status, dict(headers or {}), cut_after, corrupt, garbage, times)
        with self._lock:
            self._faults.append(found)
        return found

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def requests(self, prefix="", method=None):
        with self._lock:
            return sum(1 for m, p, _, _ in self.log if p.startswith(prefix) and (method is None or m == method))

    def body_bytes(self, prefix="", method=None):
        with self._lock:
            return sum(n for m, p, _, n in self.log if p.startswith(prefix) and (method is None or m == method))

    def per_path(self):
        with self._lock:
            return Counter(f"{m} {p}" for m, p, _, _ in self.log)

    # ---------------------------------------------------------------- internals

    def _take_fault(self, method, path):
        with self._lock:
            for found in self._faults:
                if found.matches(method, path):
                    found.used += 1
                    return found
        return None

    def _record(self, method, path, status, sent):
        """Log a request before its answer goes out (the client may act on it at once); returns the
        entry, whose byte count `_sent` raises before each write."""
        entry = [method, path, status, sent]
        with self._lock:
            self.log.append(entry)
        return entry

    def _sent(self, entry, count):
        with self._lock:
            entry[3] += count


def _peer_closed(conn):
    """True when a kept-alive upstream connection was closed by the upstream while idle."""
    if conn.sock is None:
        return False
    readable, _, _ = select.select([conn.sock], [], [], 0)
    return bool(readable)


def _handler(proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: with Nagle's algorithm on, a small body waited for
        # the client's delayed ACK of the headers (40 ms on Linux) on every kept-alive connection.
        disable_nagle_algorithm = True
        upstream_conn = None

        def log_message(self, *args):
            pass

        def handle_one_request(self):
            try:
                super().handle_one_request()
            finally:
                if self.close_connection and self.upstream_conn is not None:
                    self.upstream_conn.close()

        def _any(self):
            path = urlsplit(self.path).path
            found = proxy._take_fault(self.command, path)
            if found is not None and (found.garbage or found.status):
                for _ in self._request_body():  # keep the connection in step
                    pass
                return self._inject(found, path)
            try:
                response = self._forward()
            except (OSError, http.client.HTTPException):
                proxy._record(self.command, path, 502, 0)
                self.send_error(502, "upstream unreachable")
                return
            self._relay(response, path, found)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        @property
        def _chunked(self):
            return self.headers.get("Transfer-Encoding", "").lower() == "chunked"

        def _request_body(self):
            """The request body, streamed in blocks (de-chunked when it came chunked)."""
            if self._chunked:
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return
                    yield self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            while length:
                block = self.rfile.read(min(length, BLOCK))
                if not block:
                    return
                yield block
                length -= len(block)

        def _forward(self):
            if self.upstream_conn is not None and _peer_closed(self.upstream_conn):
                self.upstream_conn.close()
            if self.upstream_conn is None:
                self.upstream_conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            conn = self.upstream_conn
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
            has_body = self._chunked or int(self.headers.get("Content-Length") or 0) > 0
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in headers:
                conn.putheader(key, value)
            if self._chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            if has_body:
                for block in self._request_body():
                    conn.send(b"%x\r\n%s\r\n" % (len(block), block) if self._chunked else block)
                if self._chunked:
                    conn.send(b"0\r\n\r\n")
            return conn.getresponse()

        def _relay(self, response, path, found):
            length = response.getheader("Content-Length")
            self.send_response_only(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            if length is None and self.command != "HEAD" and response.status not in (204, 304):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            entry = proxy._record(self.command, path, response.status, 0)
            sent = 0
            while True:
                block = response.read(BLOCK)
                if not block:
                    break
                if found is not None and found.corrupt:
                    block = bytes(b ^ 0xFF for b in block[:1]) + block[1:]
                if found is not None and found.cut_after is not None and sent + len(block) >= found.cut_after:
                    block = block[: found.cut_after - sent]
                    proxy._sent(entry, len(block))
                    self.wfile.write(block)
                    self.wfile.flush()
                    self.close_connection = True
                    self.upstream_conn.close()
                    return
                proxy._sent(entry, len(block))
                self.wfile.write(block)
                sent += len(block)
            if response.will_close:
                self.upstream_conn.close()

        def _inject(self, found, path):
            proxy._record(self.command, path, 0 if found.garbage else found.status, 0)
            if found.garbage:
                self.wfile.write(b"\x00\xffthis is not HTTP\r\n\r\n")
                self.close_connection = True
                return
            body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by the counting proxy"}]}'
            if found.status == 429:
                body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected by the counting proxy"}]}'
            self.send_response_only(found.status)
            for key, value in found.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler
