"""Hostile requests at the HTTP level, over raw sockets, against both servers Berth runs under:
gunicorn (production, each worker) and its own chunk-aware runserver. Also: the whole v1 and v2 corpus
again against gunicorn, so nothing the test client hides (path decoding, body framing,
header bytes) changes an answer.
"""

import json
import re
from dataclasses import dataclass

import pytest
import requests

from images import manifest_formats
from images.errors import RequestHeadersTooLarge, RequestLineTooLong
from tests.e2e.servers import WORKERS
from tests.hostile.cases import MIB, MISSING, needs_upload
from tests.hostile.checks import v1_error_message, v2_error_code
from tests.hostile.conftest import SENTINEL
from tests.hostile.test_v1_corpus import V1_CASES
from tests.hostile.test_v2_corpus import V2_CASES
from tests.hostile.wire import exchange, request

GUNICORN_REQUEST_LINE_LIMIT = 4094  # gunicorn's limit_request_line default: it answers 400 itself past it


def chunked(*chunks, end=b"0\r\n\r\n"):
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + end


def head(method, path, *headers):
    lines = [
        f"{method} {path} HTTP/1.1".encode("utf-8", "surrogateescape"),
        b"Host: 127.0.0.1",
        b"Connection: close",
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


TE = b"Transfer-Encoding: chunked"
BROKEN_BODY = (400, "BLOB_UPLOAD_INVALID")


@dataclass(frozen=True)
class WireCase:
    data: bytes
    status: int
    code: str | None  # v2 code, or v1 message; None: any error of the protocol's shape
    shutdown: bool = False  # shut our write side after sending (a body that just stops)


def patch_upload(body, *headers):
    return head("PATCH", "{upload}", *(headers or (TE,))) + body


def put_manifest(body, *headers):
    return (
        head(
            "PUT", "/v2/team/app/manifests/latest", b"Content-Type: " + manifest_formats.OCI_MANIFEST.encode(), *headers
        )
        + body
    )


APP_ERRORS = {
    "chunk-shorter-than-declared": WireCase(patch_upload(b"64\r\nhello"), *BROKEN_BODY, shutdown=True),
    "chunk-size-not-hex": WireCase(patch_upload(b"zz\r\nhello\r\n0\r\n\r\n"), *BROKEN_BODY),
    "chunk-size-0x": WireCase(patch_upload(b"0x5\r\nhello\r\n0\r\n\r\n"), *BROKEN_BODY),
    "chunk-size-negative": WireCase(patch_upload(b"-5\r\nhello\r\n0\r\n\r\n"), *BROKEN_BODY),
    "chunk-size-huge": WireCase(patch_upload(b"f" * 20 + b"\r\nhello"), *BROKEN_BODY, shutdown=True),
    "chunk-no-terminator": WireCase(patch_upload(b"5\r\nhelloXX0\r\n\r\n"), *BROKEN_BODY),
    "chunk-no-last-chunk": WireCase(patch_upload(b"5\r\nhello\r\n"), *BROKEN_BODY, shutdown=True),
    "monolithic-chunk-short": WireCase(
        head("POST", f"/v2/team/app/blobs/uploads/?digest={MISSING}", TE) + b"100\r\nabc", *BROKEN_BODY, shutdown=True
    ),
    "put-upload-chunk-short": WireCase(
        head("PUT", f"{{upload}}?digest={MISSING}", TE) + b"100\r\nabc", *BROKEN_BODY, shutdown=True
    ),
    "content-length-longer-than-body": WireCase(
        patch_upload(b"hello", b"Content-Length: 100"), 400, "SIZE_INVALID", shutdown=True
    ),
    "manifest-chunk-short": WireCase(put_manifest(b"100\r\n{", TE), *BROKEN_BODY, shutdown=True),
    "manifest-chunked-over-4mib": WireCase(put_manifest(chunked(*[b"a" * MIB] * 5), TE), 413, "SIZE_INVALID"),
    "manifest-content-type-bad-utf8": WireCase(
        head("PUT", "/v2/team/app/manifests/latest", b"Content-Type: application/\xff", b"Content-Length: 2") + b"{}",
        400,
        "MANIFEST_INVALID",
    ),
    "raw-bad-utf8-in-path": WireCase(head("GET", "/v2/\udcff\udcfe/tags/list"), 400, "NAME_INVALID"),
    "raw-backslashes-in-path": WireCase(head("GET", "/v2/..\\..\\etc/tags/list"), 400, "NAME_INVALID"),
    "raw-dotdot-in-path": WireCase(head("GET", "/v2/team/../../../etc/passwd/tags/list"), 400, "NAME_INVALID"),
    "v1-json-chunk-short": WireCase(
        head("PUT", "/v1/images/" + "d" * 64 + "/json", TE) + b"100\r\n{", 400, None, shutdown=True
    ),
    "v1-layer-of-complete-image": WireCase(
        head("PUT", "/v1/images/{image}/layer", TE) + b"100\r\nabc", 409, "Image already exists", shutdown=True
    ),
    "v1-index-over-limit": WireCase(
        head("PUT", "/v1/repositories/team/app/images", TE) + chunked(*[b"[" + b" " * MIB] * 5),
        413,
        "request body too large",
    ),
}

# Framing a server must refuse before any application code runs: any 4xx, then it carries on.
SERVER_ERRORS = {
    "header-100k": head("GET", "/v2/", b"X-Big: " + b"a" * 100_000),
    "headers-300": head("GET", "/v2/", *[b"X-H%d: 1" % i for i in range(300)]),
    "request-line-100k": head("GET", "/v2/_catalog?last=" + "a" * 100_000),
    "raw-nul-in-request-line": head("GET", "/v2/a\x00b/tags/list"),
    "not-http": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
    "no-method": b" / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "header-without-colon": head("GET", "/v2/", b"NoColonHere"),
    "content-length-twice": head("PUT", "/v2/team/app/manifests/x", b"Content-Length: 2", b"Content-Length: 3") + b"{}",
}


@pytest.fixture(params=[*WORKERS, "runserver"])
def server(request):
    """(worker, address, {placeholder values}) of a seeded gunicorn with that worker (worker None: runserver)."""
    values = request.getfixturevalue(request.param)
    return values["worker"], values["address"], values


def fill(data, address, values):
    if b"{upload}" in data:
        response = requests.post(f"http://{address[0]}:{address[1]}/v2/team/app/blobs/uploads/")
        data = data.replace(b"{upload}", response.headers["Location"].encode())
    return data.replace(b"{image}", values["image"].encode())


# gunicorn 27's asgi worker refuses what RFC 9112 and RFC 9110 forbid on the request line and in header
# values before any application runs (400, its own text): bytes outside 0x21-0x7e in the request target, control
# characters in a header value. gunicorn 23 passed both on and the registry answered them, as it does under the
# gthread worker.
_TARGET_INVALID = re.compile(rb"[^\x21-\x7e]")
_VALUE_INVALID = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def refused_by_gunicorn_27(worker, target, header_values=()):
    return worker == "asgi" and bool(
        _TARGET_INVALID.search(target) or any(_VALUE_INVALID.search(value) for value in header_values)
    )


@pytest.mark.parametrize("case", APP_ERRORS.values(), ids=APP_ERRORS.keys())
def test_broken_bodies_and_bytes_get_protocol_errors(server, case):
    worker, address, values = server
    answer = exchange(address, fill(case.data, address, values), case.shutdown)
    if refused_by_gunicorn_27(worker, case.data.split(b" ", 2)[1]):
        assert answer.status == 400, (answer.status, answer.body[:300])
        assert_still_serving(address)
        return
    assert answer.status == case.status, (answer.status, answer.body[:300])
    v1 = b" /v1/" in case.data.split(b"\r\n", 1)[0]
    said = (v1_error_message if v1 else v2_error_code)(answer.status, answer.headers, answer.body)
    assert case.code is None or said == case.code, answer.body[:300]
    assert_still_serving(address)


@pytest.mark.parametrize("data", SERVER_ERRORS.values(), ids=SERVER_ERRORS.keys())
def test_broken_framing_is_refused(server, data):
    """gunicorn refuses each with a 4xx (or a closed connection); runserver is more lenient but never fails."""
    worker, address, _ = server
    answer = exchange(address, data, shutdown_write=True)
    if worker is not None:  # gunicorn
        assert answer.status is None or 400 <= answer.status < 500, (answer.status, answer.body[:300])
    else:
        assert answer.status is None or answer.status < 500, (answer.status, answer.body[:300])
    assert_still_serving(address)


@pytest.mark.parametrize(
    "path",
    ["/static/../../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/sentinel.txt",
     "/static/..\\..\\sentinel.txt", "/static//etc/passwd", "/static/%00", "/static/%ff"],
)  # fmt: skip
def test_static_files_do_not_escape(server, path):
    _, address, _ = server
    answer = request(address, "GET", path)
    assert answer.status in (400, 404), (answer.status, answer.body[:300])
    assert SENTINEL not in answer.body and b"root:x:0:0" not in answer.body


def assert_still_serving(address):
    answer = request(address, "GET", "/v2/")
    assert answer.status == 200, answer


def _expected_over_wire(case, path, worker, legacy=False):
    values = [v if isinstance(v, bytes) else v.encode("latin-1") for v in case.headers.values()]
    if refused_by_gunicorn_27(worker, path.encode("latin-1", "replace"), values):
        return 400, None
    if len(path) > GUNICORN_REQUEST_LINE_LIMIT:  # refused by gunicorn, answered in the protocol's format
        return 414, RequestLineTooLong.message if legacy else RequestLineTooLong.code
    return case.status, case.code


def _send_corpus_case(gunicorn, case):
    values = dict(gunicorn)
    if needs_upload(case):
        response = requests.post(f"{gunicorn['url']}/v2/team/app/blobs/uploads/")
        values["upload"] = response.headers["Location"].rsplit("/", 1)[1]
    values.setdefault("missing", MISSING)
    path = case.url(values)
    return path, request(gunicorn["address"], case.method, path, case.headers, case.fill(values))


@pytest.mark.parametrize("case", V2_CASES, ids=lambda case: case.id)
def test_v2_corpus_on_gunicorn(production, case):
    path, answer = _send_corpus_case(production, case)
    status, code = _expected_over_wire(case, path, production["worker"])
    assert answer.status == status, (answer.status, answer.body[:300])
    if code:
        assert v2_error_code(answer.status, answer.headers, answer.body, case.method) == code, answer.body[:300]


@pytest.mark.parametrize("case", V1_CASES, ids=lambda case: case.id)
def test_v1_corpus_on_gunicorn(production, case):
    path, answer = _send_corpus_case(production, case)
    status, code = _expected_over_wire(case, path, production["worker"], legacy=True)
    assert answer.status == status, (answer.status, answer.body[:300])
    if code:
        assert v1_error_message(answer.status, answer.headers, answer.body) == code


LONG = "x" * 8192


@pytest.mark.parametrize(
    "path",
    [f"/v2/_catalog?last={LONG}", f"/v2/team/app/tags/list?n=10&last={LONG}", f"/v2/team/app/manifests/{LONG}"],
    ids=["catalog", "tags-list", "manifest"],
)
def test_a_request_line_over_the_limit_gets_the_v2_envelope(production, path):
    answer = request(production["address"], "GET", path)
    assert answer.status == 414, (answer.status, answer.body[:300])
    assert v2_error_code(answer.status, answer.headers, answer.body) == "URI_TOO_LONG"
    assert answer.headers["docker-distribution-api-version"] == "registry/2.0"
    assert json.loads(answer.body)["errors"][0]["detail"] == {"limit": GUNICORN_REQUEST_LINE_LIMIT}


def test_a_v1_request_line_over_the_limit_gets_the_v1_error(production):
    answer = request(production["address"], "GET", f"/v1/search?q={LONG}")
    assert answer.status == 414, (answer.status, answer.body[:300])
    assert v1_error_message(answer.status, answer.headers, answer.body) == RequestLineTooLong.message


def test_headers_over_the_limit_get_the_v2_envelope(production):
    headers = {f"X-Filler-{i}": "y" * 100 for i in range(120)}  # gunicorn's limit_request_fields is 100
    answer = request(production["address"], "GET", "/v2/_catalog", headers)
    assert answer.status == 431, (answer.status, answer.body[:300])
    assert v2_error_code(answer.status, answer.headers, answer.body) == RequestHeadersTooLarge.code


def test_a_long_query_under_the_limit_is_the_registrys_own_answer(production):
    answer = request(production["address"], "GET", f"/v2/_catalog?last={'x' * 3500}")
    assert answer.status == 200, (answer.status, answer.body[:300])
    assert json.loads(answer.body) == {"repositories": []}
