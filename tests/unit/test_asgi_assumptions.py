"""What registry_site/server/asgi_worker.py and asgi_bridge.py assume about gunicorn 27's asgi worker, one by one.

The worker overrides private methods of gunicorn's ASGIProtocol and reads its BodyReceiver's fields; when a
gunicorn upgrade changes one of them, this says which (tests/unit/test_gunicorn_assumptions.py does the same
for the gthread worker).
"""

import asyncio
import inspect

from gunicorn.asgi import parser, protocol
from gunicorn.workers import gasgi


def _params(function):
    return list(inspect.signature(function).parameters)


def test_the_protocol_methods_the_worker_overrides_or_calls():
    cls = protocol.ASGIProtocol
    expected = {
        "__init__": ["self", "worker"],
        "data_received": ["self", "data"],
        "eof_received": None,  # asyncio.Protocol's: the worker's own replaces it
        "_feed_callback_parser": ["self", "data"],
        "_on_headers_complete": ["self"],
        "_send_error_response": ["self", "status", "message", "extra_headers"],
        "_will_close": ["self", "request", "response_requires_close"],
        "_serve_http_request": ["self", "request", "sockname", "peername"],
        "_build_http_scope": ["self", "request", "sockname", "peername"],
        "_close_transport": ["self"],
        "_pause_reading": ["self"],
        "_safe_write": ["self", "data"],
        "_h2c_arm_upgrade": ["self"],
        "_handle_h1c_exception": ["self", "exc"],
    }
    for name, params in expected.items():
        assert callable(getattr(cls, name)), name
        if params is not None:
            assert _params(getattr(cls, name)) == params, name
    source = inspect.getsource(cls)
    for attribute in ("self._body_receiver", "self._request_ready", "self._closed", "self._callback_parser",
                      "self._h2c_upgrade_settings", "self._awaiting_request", "self._finishing_calls", "self.log",
                      "self.cfg"):  # fmt: skip
        assert attribute in source, attribute


def test_the_body_receiver_fields_the_worker_and_bridge_use():
    receiver = protocol.BodyReceiver
    for name in (
        "_complete",
        "_chunks",
        "expect_continue",
        "_body_wait_expired",
        "_wake_waiter",
        "buffered",
        "receive",
        "protocol",
    ):
        assert name in receiver.__slots__ or hasattr(receiver, name), name
    assert isinstance(receiver.buffered, property)
    assert "_disconnected" in inspect.getsource(receiver.receive)  # _body_wait_expired ends the body


def test_the_status_line_cache_and_the_parser_errors():
    assert isinstance(protocol._REASON_PHRASES, dict)
    assert _params(protocol._get_cached_status_line) == ["version", "status", "reason"]
    for name in ("LimitRequestLine", "LimitRequestHeaders", "UnsupportedTransferCoding", "InvalidChunkExtension",
                 "ParseError"):  # fmt: skip
        assert issubclass(getattr(parser, name), Exception), name


def test_the_worker_makes_its_protocol_through_a_module_global():
    assert gasgi.ASGIProtocol is protocol.ASGIProtocol or gasgi.ASGIProtocol.__name__ == "RegistryASGIProtocol"
    assert "ASGIProtocol(self)" in inspect.getsource(gasgi.ASGIWorker._serve)
    assert "self.asgi" in inspect.getsource(gasgi.ASGIWorker.load_wsgi)
    assert callable(gasgi.ASGIWorker.check_config)
    assert inspect.iscoroutinefunction(gasgi.ASGIWorker._shutdown)
    assert "self.nr_conns" in inspect.getsource(gasgi.ASGIWorker._shutdown)


def test_the_worker_makes_its_loop_in_one_method_and_asyncio_accepts_a_batch_per_wake_up():
    # asgi_worker.FairLoop: gunicorn sets up its loop in _setup_event_loop; asyncio's loop accepts up to
    # `backlog` connections per wake-up in _accept_connection, the argument after the server.
    assert "self._setup_event_loop()" in inspect.getsource(gasgi.ASGIWorker.init_process)
    from asyncio import selector_events

    params = _params(selector_events.BaseSelectorEventLoop._accept_connection)
    assert params[:6] == ["self", "protocol_factory", "sock", "sslcontext", "server", "backlog"]
    assert "self._accept_connection," in inspect.getsource(selector_events.BaseSelectorEventLoop._start_serving)


# --- the sendfile extension (asgi_worker.RegistryASGIProtocol._berth_sendfile) -------------------------------------


def _send_source():
    return inspect.getsource(protocol.ASGIProtocol._handle_http_request)


def test_gunicorns_send_keeps_its_counts_in_its_closure():
    from registry_site.server import asgi_worker

    assert {"response_sent", "response_length"} <= asgi_worker._send_closure_names()
    assert asgi_worker.SENDFILE_POSSIBLE


def test_send_counts_the_body_bytes_it_writes_in_response_sent():
    assert "response_sent += size" in _send_source()


def test_send_holds_the_body_to_the_content_length_in_response_length():
    source = _send_source()
    assert "response_length = int(content_length_value)" in source
    assert "size > response_length - response_sent" in source


def test_response_length_is_set_only_for_a_body_framed_by_its_content_length():
    assert "if has_content_length and not use_chunked and not omits_body:" in _send_source()


def test_a_body_shorter_than_its_content_length_closes_the_connection():
    assert "response_sent < response_length" in _send_source()


def test_the_access_log_gets_response_sent():
    assert "ASGIResponseInfo(response_status, response_headers, response_sent)" in _send_source()


def test_the_header_block_waits_in_response_buffer_for_the_first_body_write():
    assert 'self._response_buffer = b"".join(parts)' in inspect.getsource(protocol.ASGIProtocol._send_response_start)
    assert "buffer = self._response_buffer" in inspect.getsource(protocol.ASGIProtocol._send_body)
    assert "elif self._response_buffer:" in _send_source()  # an empty last body flushes it, or nothing is left


def test_the_protocol_fields_sendfile_reads():
    source = inspect.getsource(protocol.ASGIProtocol.__init__)
    for attribute in ("self._uses_uwsgi", "self._response_buffer", "self.worker", "self.transport"):
        assert attribute in source, attribute
    assert "self._is_ssl = " in inspect.getsource(protocol.ASGIProtocol.connection_made)
    assert "self.loop" in inspect.getsource(gasgi.ASGIWorker)


def test_asyncio_sends_a_file_natively_on_a_socket_transport():
    from asyncio import constants, selector_events

    transport = selector_events._SelectorSocketTransport
    assert transport._sendfile_compatible is constants._SendfileMode.TRY_NATIVE
    assert _params(asyncio.AbstractEventLoop.sendfile) == ["self", "transport", "file", "offset", "count", "fallback"]


def test_the_workers_last_step_cancels_every_task():  # a transfer still running when the graceful timeout ends
    assert "task.cancel()" in inspect.getsource(gasgi.ASGIWorker._cleanup)
