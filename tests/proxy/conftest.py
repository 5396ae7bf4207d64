"""Proxy-cache tests on the Berth side (no upstream needed, or a closed port as a dead upstream).

The namespace table is cached per process (proxy/routing.py): each test starts and ends with it
dropped, so a proxy of one test never leaks into the next.
"""

import socket

import pytest

from proxy import routing


@pytest.fixture(autouse=True)
def fresh_proxy_table():
    routing.invalidate()
    yield
    routing.invalidate()


@pytest.fixture
def dead_upstream():
    """http://127.0.0.1:<port> where nothing listens (bound then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
