"""Clients probe HTTPS first: a TLS handshake on Berth's plain-HTTP port must be refused, not left hanging."""

import socket
import ssl

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_tls_handshake_is_closed_and_http_still_works(berth_gunicorn):
    berth = berth_gunicorn
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", berth.port), timeout=8) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):  # a timeout here would mean a hanging server
            context.wrap_socket(raw)
    assert requests.get(f"{berth.url}/v2/", timeout=10).status_code == 200
