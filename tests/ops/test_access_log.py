"""gunicorn's access log line is the same with Berth's lazy atoms as with gunicorn's own."""

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from registry_site.access_log import _ATOMS, AccessLogger

ENVIRON = {
    "REMOTE_ADDR": "127.0.0.1",
    "REQUEST_METHOD": "HEAD",
    "RAW_URI": "/v2/app/blobs/sha256:ab?x=1",
    "PATH_INFO": "/v2/app/blobs/sha256:ab",
    "QUERY_STRING": "x=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_USER_AGENT": 'skopeo/1.9 "quoted"',
    "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0",  # alice:secret
}


def _lines(fmt, resp, environ, took=timedelta(seconds=2, microseconds=3456)):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", fmt)
    lines = []
    for logger in (glogging.Logger(cfg), AccessLogger(cfg)):
        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())
        logger.access_log.handlers = [handler]
        agent = environ.get("HTTP_USER_AGENT")
        req = SimpleNamespace(headers=[("USER-AGENT", agent)] if agent is not None else [])
        logger.access(resp, req, environ, took)
    return lines


@pytest.mark.parametrize("atom", [a for a in _ATOMS if a not in "tp"])
@pytest.mark.parametrize("sent", [None, 0, 1234])
def test_every_atom_reads_as_gunicorn_writes_it(atom, sent):
    resp = SimpleNamespace(status="404 Not Found", sent=sent, headers=[("Content-Type", "application/json")])
    gunicorn_line, berth_line = _lines(f'[%({atom})s] "%(r)s" %(X)s', resp, ENVIRON)
    assert berth_line == gunicorn_line


def test_berth_format_line():
    resp = SimpleNamespace(status="201 Created", sent=0, headers=[])
    fmt = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
    gunicorn_line, berth_line = _lines(fmt, resp, ENVIRON, timedelta(microseconds=1500))
    assert (
        berth_line
        == gunicorn_line
        == ('127.0.0.1 "HEAD /v2/app/blobs/sha256:ab?x=1 HTTP/1.1" 201 0 1500us "skopeo/1.9 \\"quoted\\""')
    )


def test_missing_environ_values_and_header_atoms_still_work():
    resp = SimpleNamespace(status=200, sent=5, headers=[("X-Request-Id", "abc")])
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/v2/", "SERVER_PROTOCOL": "HTTP/1.0"}
    gunicorn_line, berth_line = _lines('%(h)s %(f)s %(q)s %(a)s "%(r)s" %(s)s', resp, environ)
    assert berth_line == gunicorn_line == '- - None - "GET /v2/ HTTP/1.0" 200'
    gunicorn_line, berth_line = _lines("%(s)s %({x-request-id}o)s %({user-agent}i)s", resp, environ)
    assert berth_line == gunicorn_line == "200 abc -"
