"""gunicorn with the gthread worker (BERTH_WORKER=gthread) on keep-alive connections: the thread that answered a
request answers the connection's next one too, but never at the expense of another client
(registry_site/server/workers.py; the asgi worker's keep-alive: tests/e2e/test_asgi_worker.py)."""

import http.client
import socket
import threading
import time

import pytest

from tests.e2e.ops_helpers import start_open_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def one_thread(tmp_path):
    """One worker with one thread: any client held by it is a client the others wait for."""
    berth = start_open_server(tmp_path / "berth", "gthread", BERTH_WORKERS="1", BERTH_THREADS="1")
    yield berth
    berth.stop()


def read_responses(sock, count):
    """The status and body of `count` responses read from one connection, in order."""
    reader = sock.makefile("rb")
    answers = []
    for _ in range(count):
        status = reader.readline().split(b" ", 2)
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answers.append((int(status[1]), reader.read(length)))
    return answers


def test_pipelined_requests_are_all_answered(one_thread):
    request = f"GET /v2/ HTTP/1.1\r\nHost: {one_thread.host}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", one_thread.port), timeout=10) as sock:
        sock.sendall(request * 3)  # one write: the second and third arrive with the first
        assert read_responses(sock, 3) == [(200, b"{}")] * 3


def test_a_keep_alive_connection_is_answered_after_a_pause(one_thread):
    connection = http.client.HTTPConnection("127.0.0.1", one_thread.port, timeout=10)
    for pause in (0, 0.2, 0, 1.0, 0):  # shorter and longer than a thread waits for the next request
        time.sleep(pause)
        connection.request("GET", "/v2/_catalog")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b'{"repositories":[]}')
    connection.close()


def test_a_busy_keep_alive_client_does_not_starve_a_new_one(one_thread):
    done, failures, stop = [0], [], threading.Event()

    def busy_client():  # request after request on one connection, as fast as they are answered
        connection = http.client.HTTPConnection("127.0.0.1", one_thread.port, timeout=30)
        try:
            while not stop.is_set() and done[0] < 5000:
                connection.request("GET", "/v2/")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
                    return
                done[0] += 1
        except OSError as error:  # an exception in this thread would not fail the test by itself
            failures.append(error)
        finally:
            connection.close()

    busy = threading.Thread(target=busy_client)
    busy.start()
    try:
        while done[0] < 20 and busy.is_alive():
            time.sleep(0.01)
        assert not failures, failures
        before = done[0]
        newcomer = http.client.HTTPConnection("127.0.0.1", one_thread.port, timeout=60)
        newcomer.request("GET", "/v2/")
        response = newcomer.getresponse()
        assert response.status == 200
        newcomer.close()
        # Answered between two of the busy client's requests, not after it gave up.
        assert done[0] - before < 200, f"the busy client got {done[0] - before} answers first"
    finally:
        stop.set()
        busy.join(60)
    assert not failures, failures
