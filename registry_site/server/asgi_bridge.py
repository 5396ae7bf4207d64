"""Berth's WSGI application (registry_site/wsgi.py, a RegistryHandler) served as an ASGI application, for
gunicorn 27's asyncio worker (registry_site/server/asgi_worker.py; BERTH_WORKER=asgi).

Nothing of the registry is written twice: every request goes through the same WSGI handler, with a
WSGI environ built from the ASGI scope the way gunicorn's WSGI worker builds it (`environ()`). Only
where the handler runs differs:

- In the event loop's own thread, synchronously: GET and HEAD requests without a body that
  images/api/v2/fast.py's `match()` accepts (manifests, blob HEAD, tags list, catalog, /v2/), except
  blob GET (it streams large bodies) and reads of names served from an upstream registry (proxy/:
  they may wait on the network). These are short database reads; a thread hand-off per request cost
  more than the read (bench/RESULTS.md, "Round 2, session 8": 278-296 us of server CPU per request in
  the loop's thread against 323-345 through a pool and 398-408 under gthread).
- Everything else (uploads, blob GETs, the catalog pages, the admin, the JSON API) in a pool of
  `threads` threads (gunicorn's `threads` setting, as gthread's), one request per thread at a time:
  the request body is a blocking file-like object fed from ASGI `receive` (`RequestInput`), the
  response is iterated in the thread and each block handed to ASGI `send`, waiting while the socket's
  write buffer is full (gunicorn's flow control), so neither a GiB upload nor a GiB download is ever
  held in memory.
- Except a file on disk: an answer whose body is a regular file (a FileResponse, which Django hands to
  `wsgi.file_wrapper`: a blob on the filesystem storage, whole or one Range) of at least SENDFILE_MIN
  bytes, with a Content-Length, is sent by the kernel from the event loop when the server offers
  SENDFILE_EXTENSION (registry_site/server/asgi_worker.py: `loop.sendfile`, os.sendfile on the socket;
  not over TLS, not with BERTH_SENDFILE off). The bytes are those gunicorn's WSGI sendfile() sends:
  Content-Length bytes from the file's current position (where bytes_response put it: a Range's
  start). The pool thread sends the header block and hands the file over in one trip to the loop,
  waits for the transfer as it waits for a block's send, then closes the response (Django's close:
  the file, request_finished) in its own thread, as for any answer. Smaller files, other bodies
  (stored objects on S3, Swift or Azure, JSON), HEAD and error answers go block by block as above.

Calling Django synchronously in a thread with a running event loop is what Django's async-safety check
refuses (SynchronousOnlyOperation): it guards against blocking a loop that serves other coroutines by
accident. Here it is deliberate and bounded: only the short reads above run there, and they never
overlap (one at a time in the loop's thread). So `DJANGO_ALLOW_ASYNC_UNSAFE` is set when this
application is made (in the worker process, not in gunicorn's master); the pool threads have no running
loop and are not affected by it.

Database connections: Django keeps them in asgiref's Local, which in a thread with a running loop is
per contextvars context, and asyncio runs every request in a task with a context of its own: each
request would open a new connection (about 1 ms on SQLite, found in session 8). All in-loop calls
therefore run in ONE context made at start-up (`self.context.run(...)`), so the loop thread keeps one
connection as a gthread thread does. The pool threads have no running loop: their connections are
plain thread-locals, one per thread, kept between requests.
"""

import asyncio
import contextvars
import io
import os
import stat
import sys
import threading
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import unquote_to_bytes, urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding",
     "upgrade"}
)  # fmt: skip
NO_BODY_STATUSES = frozenset({204, 304})
READ_BATCH = 1 << 20  # bytes of request body a pool thread takes from the loop per hop, at most
WAIT_SLICE = 1.0  # seconds a pool thread waits on the loop before checking that it still runs
CLOSED_EXTENSION = "berth.connection_closed"  # scope extension: a callable, True once the client is gone
# Scope extension: `await sendfile(send, file, offset, count)` writes `count` bytes of `file` from `offset` as the
# next bytes of the body `send` started, zero-copy, and returns how many went (asgi_worker.py).
SENDFILE_EXTENSION = "berth.sendfile"
# A file below this goes block by block: one read, and gunicorn writes it with the header block in one write
# (the header block would otherwise go out on its own before the file).
SENDFILE_MIN = 64 * 1024
DEFAULT_THREADS = 8


class ClientGone(ConnectionAbortedError):
    """The connection ended (or the loop stopped) while a pool thread was reading its body or writing its answer.

    An OSError, as gunicorn's own body readers raise on a broken body: registry_site/server/bodies.py turns
    it into BLOB_UPLOAD_INVALID, as under gthread."""


class BrokenBody(ClientGone):
    """A chunked request body cut off or malformed before its last chunk."""


def environ(scope, *, multiprocess=True, script_name=None):
    """The WSGI environ gunicorn's WSGI worker (gunicorn/http/wsgi.py `create`) gives for the request in `scope`.

    PATH_INFO is the raw path percent-decoded to bytes, as latin-1 (PEP 3333; the scope's `path` is
    decoded as UTF-8 with replacement characters, which would change what the registry sees of a bad name).
    The input is set by the caller.
    """
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    if not raw_path.startswith(b"/") and b"://" in raw_path[:16]:  # absolute-form request target
        raw_path = urlsplit(raw_path).path or b"/"
    query = scope.get("query_string") or b""
    version = scope.get("http_version", "1.1")
    meta = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,  # the server de-chunks: bodies.py reads no chunked framing
        "wsgi.file_wrapper": FileWrapper,
        "SERVER_SOFTWARE": "gunicorn/asgi",
        "REQUEST_METHOD": scope["method"],
        "QUERY_STRING": query.decode("latin-1"),
        "RAW_URI": raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else ""),
        "SERVER_PROTOCOL": f"HTTP/{version}",
    }
    host = None
    repeated = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").upper().replace("-", "_")
        value = value.decode("latin-1")
        if key == "CONTENT_TYPE":
            meta["CONTENT_TYPE"] = value
            continue
        if key == "CONTENT_LENGTH":
            meta["CONTENT_LENGTH"] = value
            continue
        if key == "HOST":
            host = value
        key = "HTTP_" + key
        if key in meta:
            repeated.setdefault(key, [meta[key]]).append(value)
        else:
            meta[key] = value
    for key, values in repeated.items():
        meta[key] = ",".join(values)

    client = scope.get("client")
    if client:
        meta["REMOTE_ADDR"] = client[0]
        meta["REMOTE_PORT"] = str(client[1])
    else:  # a unix socket
        meta["REMOTE_ADDR"] = ""
    server = scope.get("server")
    if server and server[1] is not None:
        meta["SERVER_NAME"], meta["SERVER_PORT"] = server[0], str(server[1])
    elif host:  # a unix socket: what the Host header says, as gunicorn does
        name, _, port = host.partition(":")
        meta["SERVER_NAME"] = name
        meta["SERVER_PORT"] = port or {"http": "80", "https": "443"}.get(meta["wsgi.url_scheme"], "")
    else:
        meta["SERVER_NAME"], meta["SERVER_PORT"] = (server[0] if server else ""), ""

    path = unquote_to_bytes(raw_path).decode("latin-1")
    if script_name is None:
        script_name = scope.get("root_path") or os.environ.get("SCRIPT_NAME", "")
    if script_name:
        if not path.startswith(script_name):
            raise ValueError(f"request path {path!r} does not start with SCRIPT_NAME {script_name!r}")
        path = path[len(script_name) :]
    meta["PATH_INFO"] = path
    meta["SCRIPT_NAME"] = script_name
    return meta


def has_body(meta):
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or meta.get("CONTENT_LENGTH", "") not in ("", "0")


class FileWrapper:
    """wsgi.file_wrapper: Django hands a FileResponse's file here (a blob on disk); read in `blksize` blocks."""

    def __init__(self, filelike, blksize=8192):
        self.filelike, self.blksize = filelike, blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        read, size = self.filelike.read, self.blksize
        while True:
            data = read(size)
            if not data:
                return
            yield data


class _Loop:
    """A pool thread's way to the event loop: run a coroutine there and wait for its result, in slices, so
    a thread never waits forever on a loop that has stopped (a worker shutting down)."""

    def __init__(self, loop, gone=None):
        self.loop = loop
        self.gone = gone  # True once the client has gone (the worker's scope extension), if known
        self.abandoned = False  # the request's task was cancelled: stop at the next call
        self.pending = None  # the call running on the loop, if any

    def abandon(self):
        """On the loop: the request's task was cancelled; the call running for it (a send, a file's transfer)
        is cancelled too, and the thread stops at its next call."""
        self.abandoned = True
        if self.pending is not None:
            self.pending.cancel()

    def call(self, coroutine):
        if self.abandoned or not self.loop.is_running():
            coroutine.close()
            raise ClientGone("the connection is gone")
        try:
            future = self.pending = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError:  # the loop closed meanwhile
            coroutine.close()
            raise ClientGone("the worker is stopping") from None
        try:
            return self._wait(future)
        finally:
            self.pending = None

    def _wait(self, future):
        while True:
            try:
                return future.result(WAIT_SLICE)
            except FutureTimeout:
                # A send waiting for a write buffer that a dead connection never drains, a loop that stopped.
                if self.abandoned or (self.gone is not None and self.gone()) or not self.loop.is_running():
                    future.cancel()
                    raise ClientGone("the connection is gone, or the worker is stopping") from None
            except (asyncio.CancelledError, FutureCancelled):  # the task on the loop was cancelled
                raise ClientGone("the connection is gone") from None


async def _take(receive, limit):
    """On the loop: the next body bytes, up to `limit` bytes of what has arrived (at least one message)
    -> (parts, state), state one of "more", "end", "cut"."""
    receiver = getattr(receive, "__self__", None)  # gunicorn's BodyReceiver tells what it holds
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return parts, "cut"
        body = message.get("body", b"")
        if body:
            parts.append(body)
            size += len(body)
        if not message.get("more_body", False):
            return parts, "end"
        if size >= limit or not getattr(receiver, "buffered", 0):
            return parts, "more"


class RequestInput(io.RawIOBase):
    """wsgi.input of a request served in a pool thread: a blocking file-like object over ASGI `receive`.

    Bytes are taken from the loop as the application reads (at most READ_BATCH a hop, what the server
    holds; the server stops reading the socket while 256 KiB wait), never the whole body. A body that
    ends early (`http.disconnect`: the client went away or cut it, or its chunked framing broke) reads
    as gunicorn's readers do under gthread: a Content-Length body simply ends (the registry answers
    SIZE_INVALID, "shorter than Content-Length"), a chunked one raises BrokenBody, an OSError
    (BLOB_UPLOAD_INVALID, registry_site/server/bodies.py)."""

    def __init__(self, loop, receive, chunked):
        super().__init__()
        self._loop, self._receive, self._chunked = loop, receive, chunked
        self._data, self._pos = b"", 0
        self._state = "more"

    def readable(self):
        return True

    def _fill(self):
        """Take the next bytes from the loop; False at the body's end."""
        while self._pos >= len(self._data):
            if self._state != "more":
                if self._state == "cut" and self._chunked:
                    raise BrokenBody("request body cut off or malformed")
                return False
            parts, self._state = self._loop.call(_take(self._receive, READ_BATCH))
            self._data = parts[0] if len(parts) == 1 else b"".join(parts)
            self._pos = 0
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while self._fill():
                parts.append(self._data[self._pos :] if self._pos else self._data)
                self._pos = len(self._data)
            return b"".join(parts)
        parts, wanted = [], size
        while wanted > 0 and self._fill():
            available = len(self._data) - self._pos
            if self._pos == 0 and available <= wanted:
                part = self._data
            else:
                part = self._data[self._pos : self._pos + min(available, wanted)]
            self._pos += len(part)
            wanted -= len(part)
            parts.append(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size=-1):
        parts, total = [], 0
        while (size is None or size < 0 or total < size) and self._fill():
            end = self._data.find(b"\n", self._pos)
            stop = len(self._data) if end < 0 else end + 1
            if size is not None and size >= 0:
                stop = min(stop, self._pos + size - total)
            parts.append(self._data[self._pos : stop])
            total += stop - self._pos
            self._pos = stop
            if parts[-1].endswith(b"\n"):
                break
        return b"".join(parts)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


_EMPTY_INPUT = io.BytesIO(b"")


class _Response:
    """The WSGI response of one request: start_response's status and headers as ASGI wants them."""

    __slots__ = ("status", "headers", "method", "write_hook")

    def __init__(self, method):
        self.status, self.headers, self.method, self.write_hook = None, None, method, None

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None and self.status is not None and self.write_hook is not None and self.write_hook.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = int(status.split(" ", 1)[0])
        self.headers = _asgi_headers(headers)
        return self.write

    def write(self, data):  # PEP 3333's legacy write(); Django never calls it
        if self.write_hook is None:
            raise RuntimeError("write() is only supported for requests served in a pool thread")
        self.write_hook(data)

    @property
    def omits_body(self):
        return self.method == "HEAD" or self.status in NO_BODY_STATUSES or 100 <= self.status < 200

    def start_message(self):
        return {"type": "http.response.start", "status": self.status, "headers": self.headers}

    def content_length(self):
        """The Content-Length set, as an int; None without one (or with one gunicorn would not read)."""
        for name, value in self.headers:
            if name.lower() == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None


def _asgi_headers(headers):
    return [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers if name.lower() not in HOP_BY_HOP
    ]


class _Sender:
    """A pool thread's answer: each block goes to the loop with ASGI `send`, the header block with the first; a file
    on disk in one trip, its bytes sent by the server (`send_file`)."""

    def __init__(self, loop, send, closed, response):
        self.loop, self.send, self.closed, self.response = loop, send, closed, response
        self.started = False

    async def _emit(self, start, body, more):
        send = self.send
        if start is not None:
            await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": more})
        if self.closed is not None and self.closed():
            raise ClientGone("the client went away")

    def emit(self, body, more):
        start = None
        if not self.started:
            start = self.response.start_message()
            self.started = True
        self.loop.call(self._emit(start, body, more))

    def __call__(self, data):  # write()
        if data:
            self.emit(bytes(data), True)

    def send_file(self, result, sendfile):
        """The whole answer, its body sent by the server's `sendfile` (SENDFILE_EXTENSION), when `result` is a
        file that can go that way (`file_extent`); False, nothing sent, when it is not."""
        extent = file_extent(result, self.response.content_length())
        if extent is None:
            return False
        self.started = True
        self.loop.call(self._send_file(self.response.start_message(), sendfile, *extent))
        return True

    async def _send_file(self, start, sendfile, file, offset, count):
        send = self.send
        await send(start)
        await sendfile(send, file, offset, count)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.closed is not None and self.closed():
            raise ClientGone("the client went away")


def file_extent(result, length):
    """(file, offset, count) of an answer whose body is a regular file and whose Content-Length is `length`, at
    least SENDFILE_MIN: the bytes gunicorn's WSGI sendfile() sends, `length` bytes from the file's position
    (images/api/responses.py positions it; a Range's FileSpan is exactly `length` long). None otherwise."""
    if result.__class__ is not FileWrapper or length is None or length < SENDFILE_MIN:
        return None
    file = result.filelike
    try:
        regular = stat.S_ISREG(os.fstat(file.fileno()).st_mode)
        offset = file.tell()
    except (AttributeError, OSError, ValueError):  # no descriptor, a closed file (io.UnsupportedOperation is both)
        return None
    return (file, offset, length) if regular else None


class BerthASGI:
    """The ASGI application: `BerthASGI(wsgi_application, threads=N)` (registry_site/asgi.py makes Berth's)."""

    berth_asgi = True

    def __init__(self, wsgi_application, threads=None, multiprocess=True):
        # Deliberate (module docstring): the in-loop reads call Django synchronously in the loop's thread.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        self.wsgi = wsgi_application
        self.threads = threads or int(os.environ.get("BERTH_THREADS", DEFAULT_THREADS))
        self.multiprocess = multiprocess
        self.script_name = os.environ.get("SCRIPT_NAME", "")  # read once, not per request
        self.context = None  # the in-loop calls' one context, made at start-up
        self.pool = None
        self._lock = threading.Lock()
        from registry_site.server import asgi_routing

        self.routing = asgi_routing
        # Berth's handler answers an in-loop read without a WSGI call's per-request signals
        # (images/api/v2/fast.py, RegistryHandler.answer_in_loop); any other WSGI application is called as WSGI.
        self._answer_here = getattr(wsgi_application, "answer_in_loop", None)

    # --- start-up and shutdown --------------------------------------------------------------

    def start(self):
        """Make the in-loop context and the thread pool (at lifespan start-up, else at the first request)."""
        with self._lock:
            if self.context is None:
                self.context = contextvars.Context()
            if self.pool is None:
                self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="berth-wsgi")

    def stop(self):
        """Close the in-loop context's database connections; let the pool's threads end."""
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if self.context is not None:
            from django.db import connections

            self.context.run(connections.close_all)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    self.stop()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- requests ----------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "lifespan":
            return await self._lifespan(receive, send)
        if kind != "http":
            raise ValueError(f"Berth serves HTTP only, not {kind}")
        if self.pool is None:
            self.start()
        meta = environ(scope, multiprocess=self.multiprocess, script_name=scope.get("root_path") or self.script_name)
        if not has_body(meta) and self.context.run(self.routing.in_loop, meta):
            meta["wsgi.input"] = _EMPTY_INPUT
            response, body = self.context.run(self._call_here, meta)
            await send(response.start_message())
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        await self._call_in_pool(scope, receive, send, meta)

    def _call_here(self, meta):
        """In the loop's thread, in the one context: the whole answer (a small one: see `asgi_routing`)."""
        response = _Response(meta["REQUEST_METHOD"])
        if self._answer_here is not None:
            response.status, headers, body = self._answer_here(meta)
            response.headers = _asgi_headers(headers)
            return response, (b"" if response.omits_body else body)
        result = self.wsgi(meta, response.start_response)
        try:
            body = b"" if response.omits_body else b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return response, body

    async def _call_in_pool(self, scope, receive, send, meta):
        extensions = scope.get("extensions") or {}
        closed, sendfile = extensions.get(CLOSED_EXTENSION), extensions.get(SENDFILE_EXTENSION)
        loop = _Loop(asyncio.get_running_loop(), closed)
        chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        meta["wsgi.input"] = RequestInput(loop, receive, chunked) if has_body(meta) else _EMPTY_INPUT
        try:
            await loop.loop.run_in_executor(self.pool, self._call_there, loop, send, closed, sendfile, meta)
        except asyncio.CancelledError:
            loop.abandon()  # the thread stops at its next read or write
            raise
        except ClientGone:  # the client left during the answer (or the worker stops): nobody to tell
            if closed is None or not closed():
                raise

    def _call_there(self, loop, send, closed, sendfile, meta):
        """In a pool thread: call the handler, stream its answer (a file on disk by `sendfile`, if offered)."""
        response = _Response(meta["REQUEST_METHOD"])
        sender = response.write_hook = _Sender(loop, send, closed, response)
        result = self.wsgi(meta, response.start_response)
        try:
            if response.omits_body:
                sender.emit(b"", False)
                return
            if sendfile is not None and sender.send_file(result, sendfile):
                return
            pending = None
            for block in result:
                if not block:
                    continue
                if pending is not None:
                    sender.emit(pending, True)
                pending = block if block.__class__ is bytes else bytes(block)
            sender.emit(pending or b"", False)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
