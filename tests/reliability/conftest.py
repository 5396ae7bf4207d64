"""Fault-injection fixtures: real gunicorn servers we may kill, and services we may take away.

Every test here is marked `reliability` and runs by default. Servers are
tests/e2e/servers.py's BerthServer (through ops_helpers' open-registry
subclass); a failing test gets the server log attached by the e2e report hook.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.e2e.conftest import pytest_runtest_makereport  # noqa: F401  (server logs on failure)
from tests.e2e.ops_helpers import started_or_fail
from tests.e2e.servers import StartError
from tests.reliability.services import PrivateCluster, PrivateSwiftProxy, Tmpfs

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def rel_tmp():
    """A short temporary directory (paths end up in unix sockets)."""
    path = Path(tempfile.mkdtemp(prefix="berth-rel-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_cluster():
    """A PostgreSQL cluster of this test alone: it may be stopped (the shared one never is)."""
    cluster = PrivateCluster()
    try:
        cluster.init()
    except StartError as exc:
        cluster.destroy()
        pytest.fail(str(exc), pytrace=False)
    yield cluster
    cluster.destroy()


@pytest.fixture
def swift_proxy(rel_tmp):
    """A private S3 endpoint (a second Swift proxy) that the test may kill and resume."""
    proxy = started_or_fail(PrivateSwiftProxy(rel_tmp))  # a proxy that never got ready is stopped too
    yield proxy
    proxy.stop()


@pytest.fixture
def small_disk(rel_tmp):
    """A 64 MiB tmpfs, unmounted at the end."""
    disk = Tmpfs(rel_tmp / "small-disk")
    try:
        disk.mount()
    except StartError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield disk
    disk.unmount()
