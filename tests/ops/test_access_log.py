"""gunicorn's access log line is the same with Berth's lazy atoms as with gunicorn's own."""

import logging
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from registry_site.access_log import _ATOMS, PIPE_BUF, AccessLogger

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


def _file_logger(path, monkeypatch, seconds):
    monkeypatch.setenv("BERTH_ACCESS_LOG_FLUSH", str(seconds))
    monkeypatch.setattr(logging.getLogger("gunicorn.access"), "handlers", [])  # one logger per process
    cfg = Config()
    cfg.set("accesslog", str(path))
    cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s')
    return AccessLogger(cfg)


def _log(logger, count, uri="/v2/app/manifests/latest"):
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    for n in range(count):
        environ = dict(ENVIRON, REQUEST_METHOD="GET", RAW_URI=f"{uri}?n={n}")
        logger.access(resp, SimpleNamespace(headers=[]), environ, timedelta(microseconds=50))


def _expected(count, uri="/v2/app/manifests/latest"):
    return [f'127.0.0.1 "GET {uri}?n={n} HTTP/1.1" 200' for n in range(count)]


def test_lines_are_written_within_the_flush_interval(tmp_path, monkeypatch):
    path = tmp_path / "access.log"
    logger = _file_logger(path, monkeypatch, 0.2)
    _log(logger, 3)
    assert path.read_text() == ""  # batched: nothing written per line
    deadline = time.monotonic() + 5
    while path.read_text().splitlines() != _expected(3) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.read_text().splitlines() == _expected(3)


def test_batches_are_whole_lines_no_longer_than_a_pipe_write(tmp_path, monkeypatch):
    path = tmp_path / "access.log"
    logger = _file_logger(path, monkeypatch, 60)
    handler = logger.access_log.handlers[0]
    writes = []
    real_write = handler.stream.write
    handler.stream.write = lambda text: (writes.append(text), real_write(text))[1]
    _log(logger, 500, uri="/v2/" + "x" * 80)
    assert writes, "a full batch is written at once, not after the interval"
    logger.flush_access()  # what a stopping worker does (gunicorn.conf.py's worker_exit)
    assert all(len(text) <= PIPE_BUF and text.endswith("\n") for text in writes)
    assert "".join(writes).splitlines() == path.read_text().splitlines() == _expected(500, "/v2/" + "x" * 80)


def test_zero_seconds_writes_every_line_at_once(tmp_path, monkeypatch):
    path = tmp_path / "access.log"
    logger = _file_logger(path, monkeypatch, 0)
    _log(logger, 2)
    assert path.read_text().splitlines() == _expected(2)


def test_lines_reach_a_file_whose_handler_was_closed(tmp_path, monkeypatch):
    """Django's logging set-up (dictConfig) closes every existing handler, gunicorn's file handler too,
    when the preloaded master loads the app: the file is opened again, as logging's own emit() does."""
    path = tmp_path / "access.log"
    logger = _file_logger(path, monkeypatch, 60)
    logger.access_log.handlers[0].close()
    _log(logger, 3)
    logger.flush_access()
    assert path.read_text().splitlines() == _expected(3)


def test_reopening_the_files_writes_the_batch_to_the_old_file_first(tmp_path, monkeypatch):
    """Log rotation (SIGUSR1): the lines logged before it end up in the rotated file."""
    path = tmp_path / "access.log"
    logger = _file_logger(path, monkeypatch, 60)
    _log(logger, 4)
    path.rename(tmp_path / "access.log.1")
    logger.reopen_files()
    _log(logger, 1, uri="/v2/after")
    logger.flush_access()
    assert (tmp_path / "access.log.1").read_text().splitlines() == _expected(4)
    assert path.read_text().splitlines() == _expected(1, "/v2/after")


def test_a_logging_configuration_gets_every_record(tmp_path, monkeypatch):
    """Batching is only for gunicorn's own handler; handlers configured elsewhere see each record."""
    logger = _file_logger(tmp_path / "access.log", monkeypatch, 60)
    records = []
    extra = logging.Handler()
    extra.emit = records.append
    logger.access_log.addHandler(extra)
    logger.setup(logger.cfg)
    _log(logger, 2)
    assert [r.getMessage() for r in records] == _expected(2)
