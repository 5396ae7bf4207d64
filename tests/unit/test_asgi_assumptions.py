"""What registry_site/server/asgi_worker.py and asgi_bridge.py assume about gunicorn 27's asgi worker, one by one.

The worker overrides private methods of gunicorn's ASGIProtocol and reads its BodyReceiver's fields; when a
gunicorn upgrade changes one of them, this says which (tests/unit/test_gunicorn_assumptions.py does the same
for the gthread worker).
"""

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
    for name in ("_complete", "_body_wait_expired", "_wake_waiter", "buffered", "receive", "protocol"):
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
