"""Answers to requests gunicorn refuses before Berth sees them, in the registry's JSON error format.

gunicorn answers a request line longer than `limit_request_line` (4094 bytes by default; 414 since
gunicorn 24) or a header block over its limits (431) with a text/html page; a registry client expects
the v2 error envelope (`{"errors": [...]}`) or, under /v1/, the legacy `{"error": message}`. The request
is never built in those cases, so the request's parser (gunicorn's pure-Python one, which
gunicorn.conf.py names with `http_parser = "python"`) remembers where the refused request was going
(the start of its request line, from the bytearray gunicorn 27 reads it into) on the exception, and the
worker (registry_site/server/workers.py) answers with `answer()`. Other malformed requests keep
gunicorn's own answer.

gunicorn 27 refuses more before the application sees it, with its HTML 400: a header value with any
control character (23: only NUL, CR, LF) and a request target with anything but printable ASCII (23:
passed on). Berth answered those requests itself under gunicorn 23 (a garbage `Range` is a 416
RANGE_INVALID, a name with raw non-ASCII bytes a 400 NAME_INVALID, tests/hostile): `install()` keeps
gunicorn 23's rules for both, so clients get the same answers. NUL, CR and LF in a header value, and
everything else gunicorn checks, stay refused.
"""

import json
import re

from gunicorn.http import message, parser
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine

from images.errors import RequestHeadersTooLarge, RequestLineTooLong

API_VERSION_HEADER = "Docker-Distribution-API-Version: registry/2.0\r\n"
START_KEPT = 256  # bytes of a refused request line kept to tell where it was going


class Request(message.Request):
    def read_line(self, unreader, buf, limit=0):
        try:
            return super().read_line(unreader, buf, limit)
        except LimitRequestLine as exc:
            exc.berth_start = bytes(buf[:START_KEPT])  # the bytearray read so far
            raise

    def parse(self, unreader):
        try:
            return super().parse(unreader)
        except LimitRequestHeaders as exc:
            exc.berth_start = f"{getattr(self, 'method', '')} {getattr(self, 'path', '')}".encode("latin-1", "replace")
            raise


HEADER_VALUE_REFUSED = re.compile(r"[\0\r\n]")  # gunicorn 23's RFC9110_5_5_INVALID_AND_DANGEROUS
TARGET_REFUSED = re.compile(r"(?!)")  # gunicorn 23 had no such check: the application judges the path


def install():
    """Make gunicorn parse every request of this process with this Request, refusing what gunicorn 23 did."""
    parser.RequestParser.mesg_class = Request
    message.RFC9110_5_5_INVALID_AND_DANGEROUS = HEADER_VALUE_REFUSED
    message.RFC9112_TARGET_INVALID = TARGET_REFUSED


def _path(start):
    parts = start.split(b" ", 2)
    return parts[1].decode("latin-1") if len(parts) > 1 else ""


def answer(exc):
    """The bytes of the HTTP answer to a request gunicorn refused with `exc`, or None (gunicorn's own)."""
    if isinstance(exc, LimitRequestLine):
        error = RequestLineTooLong(detail={"limit": exc.max_size})
    elif isinstance(exc, LimitRequestHeaders):
        error = RequestHeadersTooLarge(detail={"reason": str(exc)})
    else:
        return None
    return refusal(error, getattr(exc, "berth_start", b""))


def refusal(error, start):
    """The bytes of the registry's answer `error` to a refused request whose first bytes were `start`: the v1
    error format under /v1/, else the v2 one (gthread's worker and the asgi worker, asgi_worker.py)."""
    legacy = _path(start).startswith("/v1/")
    body = {"error": error.message} if legacy else {"errors": [error.as_dict()]}
    data = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {error.status} {error.reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n{'' if legacy else API_VERSION_HEADER}\r\n"
    )
    return head.encode("latin-1") + data
