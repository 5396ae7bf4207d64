"""gunicorn worker for Berth: gthread, plus immediate answers to TLS handshakes and fair accepting.

TLS: docker, podman and skopeo try HTTPS first even for an insecure registry and
fall back to HTTP when the handshake fails. gunicorn would read the TLS
ClientHello as the start of a request line and wait for a CRLF that never
comes, so every client command stalled for its 10 s handshake timeout. This
worker peeks at a new connection's first byte and closes it when it is a TLS
handshake record (0x16); the client then falls back immediately.

Accepting: every worker watches the shared listening socket. By default a new
connection wakes all of them; only one wins the accept. Here (Linux) the socket
is watched with EPOLLEXCLUSIVE, so one idle worker wakes, the same one while the
load is light, its code and data still in the CPU caches: skopeo's pushes of
small layers (a new connection per request) took 10-20 % less server time per
request. And a worker whose threads are all busy stops watching the socket until
one is free, so a new connection is not queued behind another client's long
transfers while another worker has a thread to spare. A connection accepted but
whose first request has not arrived yet counts as busy for up to FRESH_WINDOW:
otherwise a worker with one thread free could accept several clients connecting
at once, and all but one would wait behind the first while another worker idles.
The window bounds it, so clients that connect and stay silent cannot stop a
worker from accepting for longer. A new connection whose first request is
already there (the usual case: clients write as soon as they connect) goes
straight to a thread; gthread parked every one in the poller and took it out
again on the next trip round its loop. skopeo opens a connection per request
when it pushes small layers: 50 x 0.3 MiB took 3 % less time and 5 % less
server CPU. Only a connection that is still silent waits in the poller, so it
cannot hold a thread.

Heartbeat: gthread tells the arbiter it lives at every trip round its loop (a
file's mtime, one syscall that hands the GIL to a request thread and back);
here at most once a second.

Keep-alive: gthread answers one request per trip through its main thread: the
connection goes back to the poller, the poll wakes the main thread, which hands
it to a thread again (two epoll_ctl calls, a queue hand-off and more context
switches: about a quarter of a manifest GET's server CPU). Here the thread that
answered a request waits up to NEXT_REQUEST_WAIT for the connection's next one
and answers it too, while no other connection is queued for a thread and no new
client waits to be accepted. It gives the connection back to the poller as soon
as one is (both wake it: a queued connection through a pipe the worker makes
readable while one is queued), so busy clients cannot starve the others. A
request the client sent along with the previous one (pipelined, in the parser's
buffer) is answered straight away; gthread waited for the socket to become
readable again, which it never did.

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
from functools import partial

from gunicorn import util
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
    def run(self):
        _settled(self.cfg)
        gunicorn_response.install()
        gunicorn_errors.install()
        self.poller.close()
        self.poller = WorkerSelector(self.sockets, self._fresh_window_end)
        self.in_flight = 0
        self.fresh = deque()  # when each connection still waiting for its first request was accepted
        self.paused = {}  # listening socket -> its accept callback, while every thread is busy
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

    def accept(self, server, listener):
        if self.paused:  # a connection event fetched in the same poll as the one that filled us
            return
        try:
            sock, client = listener.accept()
        except (BlockingIOError, ConnectionAbortedError):  # another worker won it, or the client left
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        with self._lock:
            self.fresh.append(time.monotonic())
            self._accept_while_threads_free()
            if not _arrived(sock):  # wait for its first request in the poller, as gthread does
                self.poller.register(sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
                return
        self.enqueue_req(conn)  # its first request is already here: straight to a thread

    def enqueue_req(self, conn):
        with self._lock:
            if not conn.initialized and self.fresh:  # its first request (or its close) arrived
                self.fresh.popleft()
            self.in_flight += 1
            self._accept_while_threads_free()
        super().enqueue_req(conn)

    def murder_keepalived(self):
        """Runs once per trip round the main loop: also ends the windows of silent new connections."""
        with self._lock:
            self._accept_while_threads_free()
        super().murder_keepalived()

    def _fresh_window_end(self):
        """When the oldest fresh connection stops counting as busy, while one holds accepting back."""
        with self._lock:
            return self.fresh[0] + FRESH_WINDOW if self.fresh and self.paused else None

    def finish_request(self, fs):
        with self._lock:
            self.in_flight -= 1
            self._accept_while_threads_free()
        super().finish_request(fs)

    def _accept_while_threads_free(self):
        expired = time.monotonic() - FRESH_WINDOW
        while self.fresh and self.fresh[0] <= expired:
            self.fresh.popleft()
        full = self.in_flight + len(self.fresh) >= self.cfg.threads
        queued = self.in_flight > self.cfg.threads
        if queued != self.queued:  # the pipe holds one byte exactly while a connection is queued
            if queued:
                os.write(self.queued_w, b"q")
            else:
                os.read(self.queued_r, 1)
            self.queued = queued
        if full and not self.paused:
            self.paused = {sock: self.poller.unregister(sock).data for sock in self.sockets}
        elif not full and self.paused and self.alive:  # not once shutting down: the poller is closed
            for sock, accept in self.paused.items():
                self.poller.register(sock, selectors.EVENT_READ, accept)
            self.paused = {}

    def handle(self, conn):
        if not getattr(conn, "berth_peeked", False):
            conn.berth_peeked = True
            try:
                first = conn.sock.recv(1, socket.MSG_PEEK)
            except OSError:
                return (False, conn)
            if first == TLS_HANDSHAKE:
                self.log.debug("closing a TLS handshake on the plain-HTTP port from %s", conn.client)
                return (False, conn)
        keepalive, conn = super().handle(conn)
        while keepalive and self._next_request_here(conn):
            keepalive, conn = super().handle(conn)
        return (keepalive, conn)

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
        for sock in self.paused:  # not accepting: a client waiting to connect needs this thread
            watch.register(sock, select.POLLIN)
        if not self.alive or self.queued:
            return False
        try:
            ready = watch.poll(NEXT_REQUEST_WAIT * 1000)
        except OSError:  # interrupted by a signal (shutdown)
            return False
        return bool(ready) and self.alive and all(fd == conn.sock.fileno() for fd, _ in ready)


def _settled(cfg):
    """A worker's settings never change (a reload starts new workers): look each one up once, not on every
    use (gunicorn's Config finds them through __getattr__, several times per request)."""
    for name, setting in cfg.settings.items():
        if not isinstance(getattr(type(cfg), name, None), property):
            vars(cfg)[name] = setting.get()


def _arrived(sock):
    """Whether a new connection's first bytes are already waiting (the client wrote right after connecting)."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:  # reset already: a thread finds out and closes it
        return True


def _buffered(conn):
    """Bytes of a next request the parser already holds (read along with the previous one)."""
    buf = conn.parser.unreader.buf
    return buf.seek(0, os.SEEK_END) > 0
