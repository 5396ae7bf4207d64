"""kill -9 during concurrent pushes: first the gunicorn workers, then the master with its workers.

Several clients push distinct images in a loop (chunked PATCHes) while the
test kills the serving processes. Afterwards every acknowledged push (manifest
PUT 201) pulls back byte for byte, every unacknowledged one is absent or
complete, and `verify_blobs` finds nothing wrong. The same crash with
accounts on leaves a private repository private.
"""

import os
import signal

import pytest
import requests

from tests.e2e.auth_server import AuthBerth
from tests.e2e.ops_helpers import sha256
from tests.e2e.servers import StartError
from tests.reliability.registry import (
    PushingClients,
    answers,
    assert_absent_or_complete,
    assert_pulls_identical,
    pull_manifest,
    wait_until,
)
from tests.reliability.services import start_server, verify_blobs

PASSWORDS = {"alice": "alice-Rel-Pa55", "bob": "bob-Rel-Pa55"}


def kill_workers(server):
    """SIGKILL every gunicorn worker; wait for the master to fork fresh ones that answer."""
    old = set(server.worker_pids())
    assert old, "no gunicorn workers found"
    for pid in old:
        os.kill(pid, signal.SIGKILL)

    def fresh_workers():
        pids = set(server.worker_pids())
        return len(pids) >= len(old) and not pids & old and answers(f"{server.url}/healthz")

    wait_until(fresh_workers, 60, "gunicorn to replace the killed workers")


def restart_after_crash(server):
    """SIGKILL the master and its workers, then start gunicorn again on the same database and storage."""
    server.kill()
    try:
        server.launch()
    except StartError as exc:
        pytest.fail(f"Berth did not come back after kill -9: {exc}", pytrace=False)


def crash_while_pushing(server, prefix, clients=4, auth=None):
    """Pushes from `clients` threads through two worker kills and one master kill; returns every attempt."""
    with PushingClients(server.url, prefix, clients, auth) as pushing:
        pushing.wait_for_more(clients)
        for _ in range(2):
            kill_workers(server)
            pushing.wait_for_more(clients)
        assert pushing.failed(), "no push was interrupted: the worker kills hit nothing"
        restart_after_crash(server)
        pushing.wait_for_more(clients)
    assert not pushing.server_errors(), "a killed worker must cost a connection, never a 5xx"
    return pushing.images


@pytest.fixture
def open_server(rel_tmp):
    server = start_server(rel_tmp / "kill")
    yield server
    server.stop()


def test_acknowledged_pushes_survive_kill_9(open_server):
    images = crash_while_pushing(open_server, "crash")
    for image in images:
        if image.acknowledged:
            assert_pulls_identical(open_server.url, image)
        else:
            assert_absent_or_complete(open_server.url, image)
    verify_blobs(open_server)


@pytest.fixture
def private_auth_server(rel_tmp):
    workdir = rel_tmp / "kill-auth"
    private = {"BERTH_NEW_REPOSITORIES_PUBLIC": "false", "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics")}
    server = AuthBerth(workdir, os.environ.get("DATABASE_URL"), private)
    try:
        server.start()
        for user in ("alice", "bob"):
            server.create_user(user, PASSWORDS[user])
    except (StartError, AssertionError) as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def test_private_repository_stays_private_after_kill_9(private_auth_server):
    server = private_auth_server
    alice = ("alice", PASSWORDS["alice"])
    images = crash_while_pushing(server, "alice", clients=2, auth=alice)
    pushed = [image for image in images if image.acknowledged]
    assert pushed
    for image in pushed[:3] + pushed[-3:]:
        assert_pulls_identical(server.url, image, auth=alice)
        for who in (None, ("bob", PASSWORDS["bob"])):
            refused = pull_manifest(server.url, image.name, image.tag, auth=who)
            assert refused.status_code in (401, 403, 404), (who, refused.status_code)
            blob = requests.get(f"{server.url}/v2/{image.name}/blobs/{sha256(image.layers[0])}", auth=who, timeout=30)
            assert blob.status_code in (401, 403, 404), (who, blob.status_code)
    verify_blobs(server)
