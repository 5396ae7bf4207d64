"""What registry_site/server/ assumes about gunicorn's internals, named one by one.

The adaptations there (the worker, the response, the refusals, the request-body readers, gunicorn.conf.py's
socket read size) use private parts of gunicorn. They are written against the version pinned in
requirements.txt; when an upgrade changes one of these, this test says which, before a push or a pull
breaks in production. Update the adaptation, then the assumption here.
"""

import inspect
from pathlib import Path

import gunicorn
from gunicorn import config
from gunicorn.http import body, message, parser, unreader, wsgi
from gunicorn.workers import gthread

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def _params(function):
    return list(inspect.signature(function).parameters)


def test_the_pinned_version_is_the_installed_one():
    pinned = next(line for line in REQUIREMENTS.read_text().splitlines() if line.startswith("gunicorn=="))
    assert gunicorn.__version__ == pinned.split("==", 1)[1].split()[0]


def test_worker_hooks():
    """workers.py: RegistryThreadWorker overrides and calls these gthread methods and attributes."""
    worker = gthread.ThreadWorker
    for name in (
        "run",
        "notify",
        "accept",
        "handle",
        "handle_error",
        "enqueue_req",
        "finish_request",
        "set_accept_enabled",
        "on_pending_socket_readable",
        "_cap_keepalive",
        "init_process",
    ):
        assert callable(getattr(worker, name)), name
    assert _params(worker.handle) == ["self", "conn"]
    assert _params(worker.handle_error) == ["self", "req", "client", "addr", "exc"]
    assert _params(worker.accept) == ["self", "listener"]
    assert _params(worker.finish_request) == ["self", "conn", "fs"]
    assert _params(worker.set_accept_enabled) == ["self", "enabled"]
    assert _params(worker.on_pending_socket_readable) == ["self", "conn", "client"]
    assert _params(gthread.TConn.__init__) == ["self", "cfg", "sock", "client", "server"]
    for attribute in ("self.initialized", "self.data_ready", "self.timeout"):
        assert attribute in inspect.getsource(gthread.TConn.__init__), attribute
    source = inspect.getsource(worker)
    for attribute in ("self.poller", "self.nr_conns", "self._accepting", "self.pending_conns", "self.tpool"):
        assert attribute in source, attribute
    # The accept/finish bookkeeping runs in the main thread: finish_request comes through the method queue.
    assert "self.method_queue.defer(self.finish_request" in inspect.getsource(worker.enqueue_req)
    # handle() answers one request and returns True (keep-alive), False (close) or _DEFER (no data yet):
    # workers.py loops on True for keep-alive and closes on False itself.
    handle = inspect.getsource(worker.handle)
    assert "return _DEFER" in handle and "return False" in handle
    assert "not conn.initialized and not conn.data_ready" in handle  # data_ready skips its 5 s wait
    assert "self._keepalive_after(conn, self.handle_request(req, conn))" in handle  # the drain, replaced
    assert _params(parser.Parser.finish_body) == ["self", "deadline", "max_bytes"]
    assert "self.pending_conns.append" in inspect.getsource(worker.finish_request)
    assert "conn.close(graceful=True)" in inspect.getsource(worker.finish_request)  # what a False result did


def test_settings_are_found_through_getattr():
    """workers._settled stores each setting's value on the Config; properties stay computed."""
    source = inspect.getsource(config.Config.__getattr__)
    assert "self.settings[name].get()" in source
    assert "self.settings" in inspect.getsource(config.Config.__init__)


def test_connection_parser_buffer():
    """workers._buffered reads the unreader's BytesIO of a connection's parser."""
    assert "self.unreader = " in inspect.getsource(parser.Parser.__init__)
    assert "self.buf = io.BytesIO()" in inspect.getsource(unreader.Unreader.__init__)
    assert _params(unreader.SocketUnreader.__init__) == ["self", "sock", "max_chunk"]  # gunicorn.conf.py
    for name in ("read", "unread"):
        assert callable(getattr(unreader.Unreader, name)), name


def test_response_class_is_looked_up_at_each_request():
    """gunicorn_response.install() replaces wsgi.Response; gunicorn must build it by that name."""
    assert "response_class = Response" in inspect.getsource(wsgi.create)
    assert _params(wsgi.Response.__init__) == ["self", "req", "sock", "cfg"]
    for name in ("send_headers", "default_headers", "close", "write", "sendfile", "write_file"):
        assert callable(getattr(wsgi.Response, name)), name
    for attribute in ("headers_sent", "_omits_body"):
        assert attribute in inspect.getsource(wsgi.Response.__init__), attribute
    assert "util.http_date()" in inspect.getsource(wsgi.Response.default_headers)  # replaced by install()
    # gunicorn_response.Response keeps a 204's Content-Length through this hook of start_response
    assert "self._response_forbids_content_length(" in inspect.getsource(wsgi.Response.start_response)


def test_request_line_buffer():
    """gunicorn_errors.Request.read_line keeps the start of a refused request line from its bytearray."""
    assert "bytearray()" in inspect.getsource(message.Request.parse)
    assert "LimitRequestLine" in inspect.getsource(message.Request.read_line)


def test_request_checks_are_module_patterns():
    """gunicorn_errors.install() restores gunicorn 23's header-value and request-target rules through these."""
    assert "RFC9110_5_5_INVALID_AND_DANGEROUS.search(value)" in inspect.getsource(message.Message.parse_headers)
    assert "RFC9112_TARGET_INVALID.search(self.uri)" in inspect.getsource(message.Request.parse_request_line)
    assert message.RFC9110_5_5_INVALID_AND_DANGEROUS.search("\0")


def test_shipped_config_names_settings_gunicorn_has():
    """gunicorn.conf.py turns gunicorn 27's additions off by name (HTTP/2, the C parser, the control socket)."""
    settings = config.make_settings()
    for name in ("http_protocols", "http2_cleartext", "http_parser", "control_socket_disable", "dirty_workers"):
        assert name in settings, name


def test_request_parser_message_class():
    """gunicorn_errors.install() sets RequestParser.mesg_class; Request.read_line/parse are wrapped."""
    assert issubclass(parser.RequestParser.mesg_class, message.Request)
    assert "self.mesg_class(" in inspect.getsource(parser.Parser.__next__)
    assert _params(message.Request.read_line) == ["self", "unreader", "buf", "limit"]
    assert _params(message.Request.parse) == ["self", "unreader"]


def test_body_readers():
    """bodies.py and chunked.py read gunicorn's request body readers directly."""
    wrapper = inspect.getsource(body.Body.__init__)
    assert "self.reader = reader" in wrapper and "self.buf = io.BytesIO()" in wrapper
    length = inspect.getsource(body.LengthReader.__init__)
    assert "self.unreader = unreader" in length and "self.length = length" in length
    chunked = inspect.getsource(body.ChunkedReader.__init__)
    for attribute in ("self.req = req", "self.parser = self.parse_chunked(unreader)", "self.buf = io.BytesIO()"):
        assert attribute in chunked, attribute
    assert inspect.isgeneratorfunction(body.ChunkedReader.parse_chunked)
    assert "self.must_close = False" in inspect.getsource(message.Message.__init__)
