"""gunicorn worker for Berth: gunicorn 27's gthread, plus immediate answers to TLS handshakes and fair accepting.

TLS: docker, podman and skopeo try HTTPS first even for an insecure registry and
fall back to HTTP when the handshake fails. gunicorn (27 too) reads the TLS
ClientHello as the start of a request line and waits for a CRLF that never
comes, so every client command stalled for its 10 s handshake timeout. This
worker peeks at a new connection's first byte and closes it at once when it is a
TLS handshake record (0x16); the client then falls back immediately.

Accepting: every worker watches the shared listening socket. By default a new
connection wakes all of them; only one wins the accept. Here (Linux) the socket
is watched with EPOLLEXCLUSIVE, so one idle worker wakes, the same one while the
load is light, its code and data still in the CPU caches: skopeo's pushes of
small layers (a new connection per request) took 10-20 % less server time per
request. And a worker whose threads are all busy stops watching the socket until
one is free (gthread's set_accept_enabled, which itself only stops at
worker_connections), so a new connection is not queued behind another client's
long transfers while another worker has a thread to spare. A connection accepted
but whose first request has not arrived yet counts as busy for up to
FRESH_WINDOW: otherwise a worker with one thread free could accept several
clients connecting at once, and all but one would wait behind the first while
another worker idles. The window bounds it, so clients that connect and stay
silent cannot stop a worker from accepting for longer. gunicorn 27's gthread
hands every new connection to a thread at once, and the thread waits up to 5 s
(gthread.DEFAULT_WORKER_DATA_TIMEOUT) for the first request before parking the
connection in the poller. Here only a connection whose first request is already
there (the usual case: clients write as soon as they connect) goes straight to a
thread; a silent one goes straight to gthread's own parked ("pending")
connections in the poller, which hand it to a thread when it becomes readable and
close it after `keepalive` seconds, so it never holds a thread.

Heartbeat: gthread tells the arbiter it lives at every trip round its loop (a
file's mtime, one syscall that hands the GIL to a request thread and back);
here at most once a second.

Keep-alive: gthread answers one request per trip through its main thread: the
request thread's result goes back through its method queue (a pipe write that
wakes the main thread), finish_request puts the connection back in the poller,
the poll wakes the main thread, which hands it to a thread again (two epoll_ctl
calls, two queue hand-offs and more context switches). Here the thread that
answered a request waits up to NEXT_REQUEST_WAIT for the connection's next one
and answers it too, while no other connection is queued for a thread and no new
client waits to be accepted. It gives the connection back to gthread as soon as
one is (both wake it: a queued connection through a pipe the worker makes
readable while one is queued), so busy clients cannot starve the others. A
request the client sent along with the previous one (pipelined, in the parser's
buffer) is answered straight away; once the connection is back with gthread, its
finish_request does the same (gunicorn 27).

Closing: gthread 27 closes a connection gracefully (FIN, then up to 2 s waiting
for the client's) in its main thread, where it holds up accepting and every
other connection of the worker; here the request thread that answered last does
it.

Responses: the header block goes out together with the body's first block
(registry_site/server/gunicorn_response.py).

Refusals: a request line or header block over gunicorn's limits is answered in the registry's JSON
error format, not gunicorn's HTML page (registry_site/server/gunicorn_errors.py).
"""

import os
import select
import selectors
import socket
import time
from collections import deque

from gunicorn import util
from gunicorn.workers import gthread
from gunicorn.workers.gthread import TConn, ThreadWorker

from registry_site.server import gunicorn_errors, gunicorn_response

TLS_HANDSHAKE = b"\x16"
NEXT_REQUEST_WAIT = 0.02  # seconds a thread keeps an idle keep-alive connection
HEARTBEAT_EVERY = 1.0  # seconds; the arbiter's timeout is minutes (gunicorn.conf.py)
FRESH_WINDOW = 0.1  # seconds an accepted connection counts as busy while its first request is awaited
EXCLUSIVE = getattr(select, "EPOLLEXCLUSIVE", 0) if selectors.DefaultSelector is selectors.EpollSelector else 0


class WorkerSelector(selectors.DefaultSelector):
    """The worker's poller: on Linux it watches the listening sockets with EPOLLEXCLUSIVE (one
    waiting worker wakes); its waits end by `wake_by()` (the end of a fresh connection's window)."""

    def __init__(self, listeners, wake_by):
        super().__init__()
        self.listeners = {sock.fileno() for sock in listeners}
        self.wake_by = wake_by

    def register(self, fileobj, events, data=None):
        key = super().register(fileobj, events, data)
        if EXCLUSIVE and key.fd in self.listeners:  # the flag is only accepted when a descriptor is added
            self._selector.unregister(key.fd)
            self._selector.register(key.fd, select.EPOLLIN | EXCLUSIVE)
        return key

    def select(self, timeout=None):
        deadline = self.wake_by()
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0)
            timeout = left if timeout is None else min(timeout, left)
        return super().select(timeout)


class RegistryThreadWorker(ThreadWorker):
    """gthread's bookkeeping (accepting, the poller, finish_request) runs in the main thread only; so does
    everything here but handle() and _next_request_here(), which run in the request threads and only read
    the main thread's state."""

    def run(self):
        _settled(self.cfg)
        gunicorn_response.install()
        gunicorn_errors.install()
        self.poller.close()
        self.poller = WorkerSelector(self.sockets, self._fresh_window_end)
        self.in_flight = 0  # connections handed to the thread pool and not finished
        self.fresh = deque()  # when each connection still waiting for its first request was accepted
        self.queued = False  # a connection waits for a thread; then `queued_r` is readable
        self.queued_r, self.queued_w = os.pipe()
        super().run()

    def notify(self):
        """The heartbeat (a file's mtime) at most every HEARTBEAT_EVERY: gthread sets it at every trip
        round its loop, a syscall that hands the GIL to a request thread and back each time."""
        now = time.monotonic()
        if now >= getattr(self, "next_heartbeat", 0):
            super().notify()
            self.next_heartbeat = now + min(HEARTBEAT_EVERY, self.timeout / 4)

    def set_accept_enabled(self, enabled):
        """gthread's rule (fewer than worker_connections open), and ours: not while every thread is taken,
        counting fresh connections, nor once stopping."""
        super().set_accept_enabled(enabled and self.alive and not self._threads_taken())

    def accept(self, listener):
        if not self._accepting:  # a connection event fetched in the same poll as the one that filled us
            return
        try:
            sock, client = listener.accept()
        except (BlockingIOError, ConnectionAbortedError):  # another worker won it, or the client left
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, sock, client, listener.getsockname())
        conn.berth_first = _first_byte(sock)
        if conn.berth_first != b"":  # its first request (or its reset) is already here: straight to a thread
            conn.data_ready = True
            self.enqueue_req(conn)
            return
        # Still silent: it waits in the poller with gthread's deferred connections (murder_pending closes
        # it after `keepalive` seconds), not in a thread, and counts as busy for FRESH_WINDOW.
        conn.berth_accepted = time.monotonic()
        conn.timeout = conn.berth_accepted + self.cfg.keepalive
        self.fresh.append(conn.berth_accepted)
        self.pending_conns.append(conn)
        self.poller.register(sock, selectors.EVENT_READ, lambda client: self.on_pending_socket_readable(conn, client))
        self._threads_changed()

    def on_pending_socket_readable(self, conn, client):
        if self.fresh and time.monotonic() - getattr(conn, "berth_accepted", 0) < FRESH_WINDOW:
            self.fresh.popleft()  # its first request (or its close) arrived within the window
        super().on_pending_socket_readable(conn, client)

    def _cap_keepalive(self, deadline):
        """Stopping: gthread closes kept-alive connections within STOP_KEEPALIVE_LINGER; silent new ones
        parked here go by then too, rather than holding the worker for graceful_timeout."""
        super()._cap_keepalive(deadline)
        for conn in self.pending_conns:
            conn.timeout = min(conn.timeout, deadline)

    def enqueue_req(self, conn):
        self.in_flight += 1
        self._threads_changed()
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.in_flight -= 1
        if getattr(conn, "berth_closed", False):  # closed by its thread already (handle)
            self.nr_conns -= 1
        else:
            super().finish_request(conn, fs)  # may hand it to a thread again (a request already read)
        self._threads_changed()

    def _fresh_window_end(self):
        """When the oldest fresh connection stops counting as busy, while one holds accepting back."""
        return self.fresh[0] + FRESH_WINDOW if self.fresh and not self._accepting else None

    def _threads_taken(self):
        expired = time.monotonic() - FRESH_WINDOW
        while self.fresh and self.fresh[0] <= expired:
            self.fresh.popleft()
        return self.in_flight + len(self.fresh) >= self.cfg.threads

    def _threads_changed(self):
        queued = self.in_flight > self.cfg.threads
        if queued != self.queued:  # the pipe holds one byte exactly while a connection is queued
            if queued:
                os.write(self.queued_w, b"q")
            else:
                os.read(self.queued_r, 1)
            self.queued = queued
        self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def handle(self, conn):
        if not conn.initialized and _tls_handshake(conn.berth_first or _first_byte(conn.sock)):
            self.log.debug("closing a TLS handshake on the plain-HTTP port from %s", conn.client)
            conn.close()  # at once: the client falls back to plain HTTP
            conn.berth_closed = True
            return False
        keepalive = super().handle(conn)
        while keepalive is True and self._next_request_here(conn):
            keepalive = super().handle(conn)
        if keepalive is False:
            # gthread closes gracefully (FIN, then up to 2 s for the client's) in its main thread, which
            # accepts and polls for every connection of the worker meanwhile: here it is this thread's wait.
            try:
                conn.close(graceful=True)
            except OSError:  # closed already (gunicorn does on some errors)
                util.close(conn.sock)
            conn.berth_closed = True
        return keepalive

    def _keepalive_after(self, conn, keepalive):
        """gunicorn 27 drains at most 64 KiB of a body the application left unread (an upload refused before
        its body was read) and otherwise closes the connection, after a response that announced keep-alive:
        the client's next request on it got a reset. gunicorn 23 drained the whole body; so here, still
        within gthread's deadline."""
        if not keepalive:
            return False
        deadline = time.monotonic() + gthread.DEFAULT_WORKER_DATA_TIMEOUT
        return bool(conn.parser.finish_body(deadline=deadline, max_bytes=float("inf")))

    def handle_error(self, req, client, addr, exc):
        answer = gunicorn_errors.answer(exc)
        if answer is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, answer)
        except OSError:
            self.log.debug("Failed to send error message.")

    def _next_request_here(self, conn):
        """Whether this thread answers the connection's next request too (see the module's doc)."""
        if _buffered(conn):
            return self.alive
        watch = select.poll()
        watch.register(conn.sock, select.POLLIN)
        watch.register(self.queued_r, select.POLLIN)  # a connection waits for a thread
        if not self._accepting:  # a client waiting to connect needs this thread
            for sock in self.sockets:
                watch.register(sock, select.POLLIN)
        if not self.alive or self.queued:
            return False
        try:
            ready = watch.poll(NEXT_REQUEST_WAIT * 1000)
        except OSError:
            return False
        return bool(ready) and self.alive and all(fd == conn.sock.fileno() for fd, _ in ready)


def _settled(cfg):
    """A worker's settings never change (a reload starts new workers): look each one up once, not on every
    use (gunicorn's Config finds them through __getattr__, several times per request)."""
    for name, setting in cfg.settings.items():
        if not isinstance(getattr(type(cfg), name, None), property):
            vars(cfg)[name] = setting.get()


def _first_byte(sock):
    """A new connection's first byte if the client has sent it, b"" while it has not, None if it was reset."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return b""
    except OSError:  # reset already: a thread finds out and closes it
        return None


def _tls_handshake(first):
    """Whether a connection starting with `first` (see _first_byte) is a TLS handshake, or gone: close it."""
    return first is None or first == TLS_HANDSHAKE


def _buffered(conn):
    """Bytes of a next request the parser already holds (read along with the previous one)."""
    return conn.parser.unreader.buf.getbuffer().nbytes > 0
