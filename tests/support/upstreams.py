"""Pytest plugin: REAL upstream registries on 127.0.0.1 for mirror, proxy and replication tests.

Registered for the whole suite by tests/conftest.py (`pytest_plugins`), so any test can ask for:

    distribution        Debian's docker-registry (distribution 2.8.2), open          (session)
    distribution_basic  the same behind htpasswd Basic auth (.username, .password)     (session)
    berth_upstream      a second Berth (gunicorn) with token auth and a user           (session)
    counting_proxy      factory: counting_proxy(upstream_url) -> a started CountingProxy (per test)
    upstream_workdir    a fresh folder for layouts (per test)

Each server runs in a temporary folder on a free port and is stopped by its pid; nothing skips:
a server that cannot start fails the test with its log. Seed them with tests/support/seed.py.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.e2e.auth_server import AuthBerth
from tests.e2e.servers import StartError, tail
from tests.support.counting_proxy import CountingProxy
from tests.support.distribution import Distribution

BASIC_USER = ("carol", "carol-Pa55-upstream")
BERTH_USER = ("dave", "dave-Pa55-upstream")


@pytest.fixture(scope="session")
def upstreams_tmp():
    path = Path(tempfile.mkdtemp(prefix="berth-up-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def upstream_workdir(tmp_path):
    return tmp_path


def start_distribution(workdir, users=None, proxy=None) -> Distribution:
    """A started distribution 2.8.2, or pytest.fail with why (never a skip)."""
    server = Distribution(workdir, users=users, proxy=proxy)
    try:
        server.start()
    except StartError as exc:
        pytest.fail(str(exc), pytrace=False)
    return server


def _stop_checked(server, what):
    died = server.proc is not None and server.proc.poll() is not None
    server.stop()
    if died:
        pytest.fail(f"{what} exited during the tests:\n{tail(server.log)}", pytrace=False)


@pytest.fixture(scope="session")
def distribution(upstreams_tmp):
    server = start_distribution(upstreams_tmp / "distribution")
    server.username = server.password = None
    yield server
    _stop_checked(server, "docker-registry (open)")


@pytest.fixture(scope="session")
def distribution_basic(upstreams_tmp):
    server = start_distribution(upstreams_tmp / "distribution-basic", users=dict([BASIC_USER]))
    server.username, server.password = BASIC_USER
    yield server
    _stop_checked(server, "docker-registry (htpasswd)")


@pytest.fixture(scope="session")
def berth_upstream(upstreams_tmp):
    """A second Berth with REGISTRY_AUTH=token (its own database and storage) and the user dave."""
    server = AuthBerth(upstreams_tmp / "berth-upstream", os.environ.get("DATABASE_URL"))
    try:
        server.start()
        server.create_user(*BERTH_USER)
        error = None
    except (StartError, AssertionError) as exc:
        error = str(exc)
    if error:
        server.stop()
        pytest.fail(f"the upstream Berth did not start: {error}", pytrace=False)
    server.username, server.password = BERTH_USER
    yield server
    _stop_checked(server, "the upstream Berth")


@pytest.fixture
def counting_proxy():
    """counting_proxy(upstream_url) -> a started CountingProxy; all are stopped after the test."""
    started = []

    def start(upstream_url):
        proxy = CountingProxy(upstream_url).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
