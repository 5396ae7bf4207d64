"""The failed-login limit under gunicorn: every worker counts the same failures (accounts/credentials.py).

Three clients connect before any sends a request, so each lands on its own worker (a worker with one
thread takes no second new client: registry_site/server/workers.py), then take turns failing. With a
per-process count each worker would have seen a third of the failures and let more guesses through.
"""

import base64
import http.client
import os

import pytest

from tests.e2e.auth_server import AuthBerth

pytestmark = pytest.mark.e2e

WORKERS, LIMIT = 3, 6
PASSWORD = "carol-Pa55-e2e"
TOKEN_PATH = "/v2/token?service=berth&scope=repository:carol/app:pull"


@pytest.fixture
def server(tmp_path):
    env = {
        "BERTH_WORKERS": str(WORKERS),
        "BERTH_THREADS": "1",
        "BERTH_LOGIN_FAILURE_LIMIT": str(LIMIT),
        "BERTH_LOGIN_FAILURE_WINDOW": "120",
    }
    berth = AuthBerth(tmp_path / "berth", os.environ.get("DATABASE_URL"), env)
    try:
        berth.start()
        berth.create_user("carol", PASSWORD)
        yield berth
    finally:
        berth.stop()


def token_status(conn, password):
    basic = base64.b64encode(f"carol:{password}".encode()).decode()
    conn.request("GET", TOKEN_PATH, headers={"Authorization": f"Basic {basic}"})
    response = conn.getresponse()
    response.read()
    return response.status, response.getheader("Retry-After")


def test_the_failure_limit_holds_across_workers(server):
    clients = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(WORKERS)]
    for client in clients:
        client.connect()
    try:
        assert token_status(clients[0], PASSWORD)[0] == 200
        guesses = [token_status(clients[i % WORKERS], f"guess-{i}")[0] for i in range(LIMIT)]
        assert guesses == [401] * LIMIT
        # Locked out on every worker, the right password included, with the time to wait.
        for client in clients:
            assert token_status(client, "guess-again") == (429, "120")
            assert token_status(client, PASSWORD) == (429, "120")
    finally:
        for client in clients:
            client.close()
