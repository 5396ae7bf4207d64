"""gunicorn 27's `asgi` worker for Berth, the shipped one (BERTH_WORKER=asgi or unset; gunicorn.conf.py).

The worker loads the same WSGI application as gthread (`registry_site.wsgi:application`, so the command
line is the same) and serves it through registry_site/server/asgi_bridge.py (BerthASGI: hot reads in the
event loop's thread, the rest in a pool of `threads` threads). The worker's own protocol
(gunicorn/asgi/protocol.py) does HTTP/1.1, keep-alive, pipelining, flow control, Expect: 100-continue
and the access log; what Berth's gthread worker (registry_site/server/workers.py) guarantees was checked
against it and only what it lacks is added here:

- TLS handshake on the plain-HTTP port: gunicorn 27's parser answers the ClientHello (first byte 0x16)
  with a 400 at once when it can tell it is not a request line, but a short or odd hello would wait
  for a line end; docker, podman and skopeo try HTTPS first and stall for 10 s per command on a
  handshake left hanging. The first byte of a connection is looked at and such a connection closed
  at once, as under gthread.
- Request line or header block over gunicorn's limits: gunicorn answers 414/431 in text/plain; here in
  the registry's JSON error format (`URI_TOO_LONG`, `HEADERS_TOO_LARGE`, `{"error": ...}` under /v1/),
  as registry_site/server/gunicorn_errors.py does for gthread.
- A malformed chunked body (a chunk size that is not hex, a chunk without its CRLF, trailers over the
  limits): gunicorn's parser raises while the application runs and gunicorn answers 400 text/plain
  itself, closing the connection before the application can answer. Under gthread Berth's own decoder
  (registry_site/server/chunked.py) sees it and the registry answers 400 BLOB_UPLOAD_INVALID. Here the
  error ends the body instead (the application's read raises, asgi_bridge.BrokenBody), the application
  answers, and the connection is closed after that answer (the rest of the bytes are never read).
- A client that half-closes (shutdown(SHUT_WR)) after a request, or in the middle of its body: asyncio
  closes the transport at EOF by default, so the answer was lost; under gthread the client gets it (a
  body cut short: 400 SIZE_INVALID or BLOB_UPLOAD_INVALID). Here the connection stays open for the
  answer to a request in flight (`eof_received`), the body reads as cut off, and the connection is
  closed after the answer.
- `threads`: gunicorn's asgi worker warns that it does not use it; here it sizes the bridge's pool.
- Sendfile: gunicorn's asgi protocol writes every body from bytes the application hands it; the bridge read a
  blob on disk block by block in a pool thread and handed each block to the loop (17-33 % slower than gthread
  for a 1 GiB blob, bench/RESULTS.md). Here a request's scope offers SENDFILE_EXTENSION (`berth.sendfile`):
  `await sendfile(send, file, offset, count)` writes the header block gunicorn holds, then `count` bytes of the
  file with `loop.sendfile` (os.sendfile on the socket: no copy, no bytes in Python; the kernel waits for the
  socket's room, so the write backpressure is the socket's own) and adds them to what gunicorn's `send` has
  counted (its closure's `response_sent`), so that gunicorn's end of the response sees a whole body: the
  keep-alive decision, the access log's bytes and "never past Content-Length" (`response_length`) hold as for
  the bytes it wrote itself; the application ends the body with an empty `http.response.body`. The transfer
  uses a descriptor of its own (a dup), so the file can be closed by the pool thread whatever happens on the
  loop. A transfer that fails (the client went away) counts what went, closes the connection and raises
  ClientGone. Offered as gunicorn's WSGI response uses sendfile(): when the `sendfile` setting is not off
  (BERTH_SENDFILE; on by default under this worker, registry_site/gunicorn.conf.py) and not over TLS; never to
  uWSGI; and only when gunicorn's `send` keeps those counts in its closure (SENDFILE_POSSIBLE).
- Shutdown: gunicorn waits for every connection, idle kept-alive ones included (up to graceful_timeout, 60 s);
  gthread closes those at once. Here they are closed when the worker starts stopping, and a connection whose
  peer is gone is always closed (gunicorn's close was skipped when write_eof() failed: the worker then
  waited for a connection that would never end).

- A request body the application left unread (an error answered before it): gunicorn closes such a
  connection after an answer that announced keep-alive, so the client's next request on it met a closed
  socket (or, still sending, a reset). Here the rest of the body is read and dropped, within 5 s, as
  gthread does, and the connection kept.

Checked and already done by gunicorn 27's protocol: keep-alive (`keepalive`), pipelined requests
answered, a body cut before its end reported as `http.disconnect` (not a clean end), Content-Length
of a response respected (never more written), HEAD and 204/304 without a body, write backpressure
(a send waits while 64 KiB are buffered), read backpressure (reading pauses while 256 KiB of body wait),
max_requests, graceful shutdown, the heartbeat (once a second).

- Accepting: asyncio accepts up to 100 waiting connections each time the listening socket wakes its loop, so
  when a client opens many at once (docker's parallel layer pulls, a load balancer's pool, wrk) the first
  worker to wake took all of them and the others idled: measured with 2 workers and 32 keep-alive
  connections, throughput varied between runs from one core's (3,960 req/s) to two cores' (7,190). Here a
  loop takes at most ACCEPT_BATCH (4) connections per wake-up (`FairLoop`): every worker waiting in its poll
  wakes for a new connection, the ones not busy take them in turn, and a busy one comes back for more only
  when it polls again. 12 bursts of 32 simultaneous connections: the smaller share 0-14 (6 bursts all to one
  worker) with asyncio's 100, 4-16 (median 12) with 4, 11-16 with 1; but one per wake-up cost 22 % of the throughput of
  clients that open a connection per request (ab without keep-alive: 3,430 against 4,400 req/s; 4: 4,020-4,250;
  16: as 100, and as unfair). (gthread's fairness is EPOLLEXCLUSIVE plus a worker whose threads are all busy
  not accepting; here a worker whose pool is busy still accepts and queues pool requests, and answers in-loop
  reads at once.)

Depends on gunicorn 27's protocol internals (the private methods overridden below and BodyReceiver's
fields): tests/unit/test_asgi_assumptions.py names each one; the hostile and e2e suites run against them.
"""

import asyncio
import os
import types
from http import HTTPStatus

from gunicorn.asgi import parser as gunicorn_parser
from gunicorn.asgi import protocol as gunicorn_protocol
from gunicorn.http.errors import ParseException
from gunicorn.workers import gasgi
from gunicorn.workers.gasgi import ASGIWorker

from images.errors import RequestHeadersTooLarge, RequestLineTooLong
from registry_site.server import gunicorn_errors
from registry_site.server.asgi_bridge import CLOSED_EXTENSION, SENDFILE_EXTENSION, BerthASGI, ClientGone

TLS_HANDSHAKE = 0x16
DRAIN_SECONDS = 5.0  # an unread request body is read and dropped for this long at most (gthread's limit)
START_KEPT = 256  # bytes of a request's start kept to tell where a refused request was going


# What gunicorn's `send` (ASGIProtocol._handle_http_request) keeps in its closure: the body bytes written so far,
# and the Content-Length it holds the body to (None when the body is chunked or omitted).
SEND_COUNTS = ("response_sent", "response_length")


def _send_closure_names():
    """The free variables of the `send` that gunicorn's _handle_http_request gives the application."""
    for constant in gunicorn_protocol.ASGIProtocol._handle_http_request.__code__.co_consts:
        if isinstance(constant, types.CodeType) and constant.co_name == "send":
            return frozenset(constant.co_freevars)
    return frozenset()


SENDFILE_POSSIBLE = set(SEND_COUNTS) <= _send_closure_names()


def send_counts(send):
    """gunicorn's cells of `send`'s counts (SEND_COUNTS), or None for any other callable."""
    code = getattr(send, "__code__", None)
    names = code.co_freevars if code is not None else ()
    if not all(name in names for name in SEND_COUNTS):
        return None
    return tuple(send.__closure__[names.index(name)] for name in SEND_COUNTS)


def _reason_phrases():
    """gunicorn's status lines name 35 statuses and call the rest "Unknown" (416, 423, 501...): every
    status Python knows gets its phrase, as gthread sends Django's."""
    for status in HTTPStatus:
        if status.value not in gunicorn_protocol._REASON_PHRASES:
            for version in ((1, 0), (1, 1)):
                gunicorn_protocol._get_cached_status_line(version, status.value, status.phrase)


def refusal(status, start, limit, reason=""):
    """The bytes of the registry's answer to a request gunicorn refused over its limits (414, 431)."""
    if status == 414:
        error = RequestLineTooLong(detail={"limit": limit})
    else:
        error = RequestHeadersTooLarge(detail={"reason": reason})
    return gunicorn_errors.refusal(error, start)


class RegistryASGIProtocol(gunicorn_protocol.ASGIProtocol):
    def __init__(self, worker):
        super().__init__(worker)
        self._berth_first = True  # the connection's first bytes are still to come
        self._berth_start = b""  # the start of the request being parsed (for refusals)
        self._berth_body_broken = False
        self._berth_peer_eof = False
        # SENDFILE_EXTENSION, decided as gunicorn's WSGI response decides to use sendfile() (TLS: per connection)
        self._berth_sendfile_on = (
            SENDFILE_POSSIBLE and getattr(self.cfg, "sendfile", None) is not False and not self._uses_uwsgi
        )

    def connection_made(self, transport):
        self.worker.berth_connections.add(self)
        super().connection_made(transport)

    def connection_lost(self, exc):
        self.worker.berth_connections.discard(self)
        super().connection_lost(exc)

    def berth_close_if_idle(self):
        """At shutdown: a kept-alive connection waiting for its next request is closed now, as gthread does."""
        if self._awaiting_request and not self._finishing_calls and self._body_receiver is None and not self._closed:
            self._berth_close_idle()

    # --- TLS probes ---------------------------------------------------------------------------

    def data_received(self, data):
        if self._berth_first:
            self._berth_first = False
            if data[0] == TLS_HANDSHAKE:
                self.log.debug("closing a TLS handshake on the plain-HTTP port")
                self._berth_close_idle()
                return
        if self._berth_body_broken:
            return  # the rest of a broken body: never parsed, the connection closes after the answer
        super().data_received(data)

    def _berth_close_idle(self):
        self._close_transport()
        if self._request_ready is not None:
            self._request_ready.set()  # the connection loop sees it closed now, not after a grace period

    # --- the registry's refusals ------------------------------------------------------------------

    def _feed_callback_parser(self, data):
        """gunicorn's, except that an error in the body of a request whose headers were read (in this feed or
        an earlier one) ends that body for the application instead of being answered by gunicorn."""
        receiver = self._body_receiver
        if receiver is None and len(self._berth_start) < START_KEPT:  # a request line and headers are read
            self._berth_start = (self._berth_start + data)[:START_KEPT]
        if self._closed or (receiver is not None and receiver._complete):
            return super()._feed_callback_parser(data)
        try:
            self._callback_parser.feed(data)
        except Exception as exc:
            receiver = self._body_receiver
            if receiver is not None and not receiver._complete:
                self.log.debug("broken request body: %s", exc)
                self._berth_break_body(receiver)
                return False
            return self._berth_refuse(exc)
        if self._h2c_upgrade_settings is not None:
            return self._h2c_arm_upgrade()
        return True

    def _berth_refuse(self, exc):
        """gunicorn's answers to a request it cannot parse (ASGIProtocol._feed_callback_parser)."""
        if isinstance(exc, gunicorn_parser.LimitRequestLine):
            self._send_error_response(414, str(exc))
        elif isinstance(exc, gunicorn_parser.LimitRequestHeaders):
            self._send_error_response(431, str(exc))
        elif isinstance(exc, gunicorn_parser.UnsupportedTransferCoding):
            self._send_error_response(501, str(exc))
        elif isinstance(exc, (gunicorn_parser.InvalidChunkExtension, gunicorn_parser.ParseError, ParseException)):
            self._send_error_response(400, str(exc))
        elif not self._handle_h1c_exception(exc):
            raise exc
        else:
            return False
        self._close_transport()
        return False

    def _on_headers_complete(self):
        self._berth_start = b""
        return super()._on_headers_complete()

    def _send_error_response(self, status, message, extra_headers=()):
        if status in (414, 431):
            self._safe_write(refusal(status, self._berth_start, self.cfg.limit_request_line, message))
            return
        super()._send_error_response(status, message, extra_headers)

    # --- bodies that break or stop, answers that still go out -------------------------------------------

    def _berth_break_body(self, receiver):
        """The body ends here for the application (`http.disconnect`); the transport stays open for the answer."""
        self._berth_body_broken = True
        receiver._body_wait_expired = True  # gunicorn's "body not framed complete, transport open" state
        receiver._wake_waiter()
        self._pause_reading()

    def eof_received(self):
        self._berth_peer_eof = True
        receiver = self._body_receiver
        if receiver is None or self._closed:  # nothing in flight: close, as asyncio would
            self._berth_close_idle()
            return None
        if not receiver._complete:
            self._berth_break_body(receiver)
        return True  # keep the transport to write the answer; closed after it (_serve_http_request)

    def _close_transport(self):
        """gunicorn's, which skips close() when write_eof() fails (a peer that is gone: ENOTCONN): the transport
        then stays open, connection_lost never comes and the worker waits for the connection at shutdown."""
        transport = self.transport
        super()._close_transport()
        if transport is not None and not transport.is_closing():
            transport.abort()

    def _will_close(self, request, response_requires_close):
        return self._berth_body_broken or self._berth_peer_eof or super()._will_close(request, response_requires_close)

    async def _serve_http_request(self, request, sockname, peername):
        keepalive = await super()._serve_http_request(request, sockname, peername)
        receiver = self._body_receiver
        if keepalive and receiver is not None and not receiver._complete:
            keepalive = await self._berth_drain_body(receiver)
        return keepalive and not (self._berth_body_broken or self._berth_peer_eof)

    async def _berth_drain_body(self, receiver):
        """Read and drop what the application left of its request's body (an error answered before the body:
        a PATCH to an unknown upload, a 503 in a database outage), as gthread does (workers.py
        `_keepalive_after`), within the same 5 s. True when the body ended: the connection stays usable.
        gunicorn would close it instead, after an answer that announced keep-alive: the client's next
        request met a closed socket, or its upload a reset that could cost it the answer itself."""
        if receiver.expect_continue:  # the client still waits for a 100 before sending its body: none comes
            return False
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                while not receiver._complete or receiver._chunks:
                    message = await receiver.receive()
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
        except TimeoutError:
            return False
        return receiver._complete and not self._closed

    def _build_http_scope(self, request, sockname, peername):
        scope = super()._build_http_scope(request, sockname, peername)
        extensions = scope.setdefault("extensions", {})
        extensions[CLOSED_EXTENSION] = self._berth_gone
        if self._berth_sendfile_on and not self._is_ssl:
            extensions[SENDFILE_EXTENSION] = self._berth_sendfile
        return scope

    def _berth_gone(self):
        return self._closed

    # --- a file's bytes by sendfile (SENDFILE_EXTENSION) ---------------------------------------------

    async def _berth_sendfile(self, send, file, offset, count):
        """`count` bytes of `file` from `offset`, the next bytes of the body `send` (gunicorn's, for this request)
        has started, written by the kernel and counted as gunicorn counts its own; returns how many went."""
        counts = send_counts(send)
        if counts is None:
            raise RuntimeError("berth.sendfile takes the send gunicorn gave the application")
        sent, length = counts
        if length.cell_contents is None:
            raise RuntimeError("berth.sendfile needs a body with a Content-Length (not chunked, not omitted)")
        if self._closed:
            raise ClientGone("the client went away")
        count = min(count, length.cell_contents - sent.cell_contents)  # never past Content-Length, as gunicorn's send
        if count <= 0:
            return 0
        headers, self._response_buffer = self._response_buffer, None  # the header block waits for the body's start
        if headers:
            self._safe_write(headers)
        written = 0
        with open(os.dup(file.fileno()), "rb", buffering=0) as own:  # the loop's own descriptor (module docstring)
            try:
                os.lseek(own.fileno(), offset, os.SEEK_SET)  # asyncio leaves it after what went, even on an error
                written = await self.worker.loop.sendfile(self.transport, own, offset, count, fallback=False)
            except (OSError, RuntimeError) as exc:  # the peer is gone (EPIPE, ECONNRESET; "not available" at once)
                written = max(os.lseek(own.fileno(), 0, os.SEEK_CUR) - offset, 0)
                self.log.debug("sendfile ended after %d of %d bytes: %s", written, count, exc)
                self._close_transport()
                raise ClientGone("the client went away during the transfer") from exc
            finally:
                sent.cell_contents += written
        return written


ACCEPT_BATCH = 4  # connections a loop accepts per wake-up of its listening socket (asyncio's default: 100)


class FairLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, accepting ACCEPT_BATCH connections per wake-up of a listening socket (the module's
    docstring, "Accepting"). The kernel's accept queue keeps gunicorn's `backlog`: only the batch is smaller."""

    def _accept_connection(self, protocol_factory, sock, sslcontext=None, server=None, backlog=100, *rest):
        return super()._accept_connection(protocol_factory, sock, sslcontext, server, ACCEPT_BATCH, *rest)


class RegistryASGIWorker(ASGIWorker):
    """gunicorn's asgi worker with RegistryASGIProtocol, serving the WSGI app through BerthASGI."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.berth_connections = set()

    async def _shutdown(self):
        """gunicorn's graceful shutdown waits (up to graceful_timeout) for every connection to end, idle kept-alive
        ones too: a client holding one (docker does) kept a stopping worker for a minute. They are closed first;
        connections with a request in flight are closed after its answer."""
        for protocol in list(self.berth_connections):
            protocol.berth_close_if_idle()
        await super()._shutdown()

    def _setup_event_loop(self):
        """Always asyncio's loop (never uvloop, whatever is installed: the protocol's internals are asyncio's),
        accepting fairly."""
        self.loop = FairLoop()
        asyncio.set_event_loop(self.loop)

    @classmethod
    def check_config(cls, cfg, log):
        """`threads` sizes the bridge's pool here (gunicorn's worker warns that it ignores it)."""

    def load_wsgi(self):
        super().load_wsgi()  # self.asgi: the application gunicorn loaded (registry_site.wsgi:application)
        if not getattr(self.asgi, "berth_asgi", False):
            self.asgi = BerthASGI(self.asgi, threads=self.cfg.threads, multiprocess=self.cfg.workers > 1)

    def run(self):
        _reason_phrases()
        gasgi.ASGIProtocol = RegistryASGIProtocol  # what gasgi's _serve makes for each connection
        super().run()
