"""Request observability: a request id, Prometheus metrics, the structured access log and the
request context that webhook events describe (images/services/notifications.py).

Metrics are labelled by route, the resolved URL pattern's view (e.g.
`images.api.v2.blobs.BlobView`), never by the raw path, so names and digests
don't explode the series. Bytes in are counted as request bodies are read
(images/api/streams.py); bytes out from Content-Length, or counted as a
streaming body without one is sent. A FileResponse keeps its file, so
gunicorn's file wrapper (and sendfile, when BERTH_SENDFILE is on) still applies.
"""

import functools
import logging
import os
import re
import time

from images import metrics
from images.api.streams import BYTES_IN_KEY
from images.conf import registry_setting
from images.services import notifications, read_cache

access_log = logging.getLogger("berth.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
NO_BODY = (204, 304)  # no Content-Length on these (RFC 9110)


def route_of(request):
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match._func_path


def client_addr(meta):
    return meta.get("REMOTE_ADDR", "")


class _CountingStream:
    def __init__(self, content, on_done):
        self.content, self.on_done, self.sent = content, on_done, 0

    def __iter__(self):
        try:
            for chunk in self.content:
                self.sent += len(chunk)
                yield chunk
        finally:
            self.on_done(self.sent)


class ObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = self.enter(request)
        try:
            response = self.get_response(request)
        except BaseException:
            notifications.current_request.reset(state[1])
            raise
        return self.leave(request, response, state)

    def enter(self, request):
        """The way in (also called on its own by images/api/v2/fast.py's flat chain): the request id and the
        request's context for events; `leave` with what this returns."""
        started = time.perf_counter()
        meta = request.META
        given = meta.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.match(given) else os.urandom(16).hex()  # uuid4().hex's form
        meta["berth.request_id"] = request_id
        token = notifications.current_request.set(
            notifications.RequestInfo(
                id=request_id,
                addr=client_addr(meta),
                host_of=functools.partial(_host, request),
                method=request.method,
                useragent=meta.get("HTTP_USER_AGENT", ""),
                scheme=request.scheme,
            )
        )
        return started, token

    def leave(self, request, response, state):
        started, token = state
        notifications.current_request.reset(token)
        response["X-Request-Id"] = request.META["berth.request_id"]
        if request.method == "HEAD":
            _strip_body(response)
        else:
            _set_length(response)
        self._observe(request, response, started)
        return response

    @metrics.never_fails
    def _observe(self, request, response, started):
        route = route_of(request)
        method = request.method
        status = str(response.status_code)
        elapsed = time.perf_counter() - started
        counted = request.META.get(BYTES_IN_KEY)
        bytes_in = counted if counted is not None else _int(request.META.get("CONTENT_LENGTH"))
        metrics.add(metrics.REQUESTS, (method, route, status))
        metrics.observe(metrics.DURATION, (method, route), elapsed)
        if bytes_in:
            metrics.add(metrics.BYTES_IN, (route,), bytes_in)

        @metrics.never_fails
        def done(bytes_out):
            if bytes_out:
                metrics.add(metrics.BYTES_OUT, (route,), bytes_out)
            if registry_setting("ACCESS_LOG"):
                _log_access(request, response, route, bytes_in, bytes_out, time.perf_counter() - started)

        length = response.get("Content-Length")
        if method == "HEAD":
            done(0)
        elif length is not None:
            done(_int(length))
        elif response.streaming and getattr(response, "file_to_stream", None) is None:
            response.streaming_content = _CountingStream(response.streaming_content, done)
        else:
            done(0 if response.streaming else len(response.content))


def _set_length(response):
    """Say how long a body in memory is: no chunked encoding (two more writes, one more segment)."""
    if not response.streaming and response.status_code not in NO_BODY and not response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))


def _strip_body(response):
    """A HEAD answer carries no body (gunicorn sends whatever it is given): error envelopes included.

    Content-Length keeps saying how long the GET answer would be, so a
    keep-alive client never reads a body as the next response's status line.
    """
    if response.streaming:
        return
    if response.content:
        _set_length(response)
        response.content = b""


def _host(request):
    try:
        return request.get_host()
    except Exception:  # DisallowedHost: let Django answer that, don't fail here
        return request.META.get("SERVER_NAME", "")


def _int(value):
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _log_access(request, response, route, bytes_in, bytes_out, seconds):
    meta = request.META
    access_log.info(
        '%s "%s %s" %s %s',
        client_addr(meta),
        request.method,
        request.get_full_path()[:2000],
        response.status_code,
        bytes_out,
        extra={
            "request_id": meta.get("berth.request_id", ""),
            "remote_addr": client_addr(meta),
            "method": request.method,
            "path": request.path[:2000],
            "route": route,
            "status": response.status_code,
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
            "duration_ms": round(seconds * 1000, 3),
            "user_agent": meta.get("HTTP_USER_AGENT", "")[:500],
        },
    )


class ChangesSettledMiddleware:
    """A request that may have changed something (any method but GET, HEAD, OPTIONS) answers only once this
    process has taken in every change committed before its answer (images/services/read_cache.py, settle):
    the client's next read, here or on another instance signalled by the same commit, cannot be answered
    from before the change by this process. Not on the fast path's reads (images/api/v2/fast.py)."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in self.SAFE:
            read_cache.settle()
        return response
