"""End-to-end fixtures: real servers (gunicorn with either worker, runserver), a real dockerd, real clients.

Nothing here skips: a client or service that can't be found or started fails
the test with the reason (scripts/test-deps.sh installs them all).

- DOCKER_HOST is used when it answers; otherwise a private dockerd is started.
- Each Berth server gets its own storage folder and a fresh database: a new
  PostgreSQL database `berth_e2e_<random>` (dropped at the end) when the run's
  DATABASE_URL is PostgreSQL, else a new SQLite file.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.e2e.clients import Docker, Podman
from tests.e2e.ops_helpers import started_or_fail
from tests.e2e.servers import WORKERS, BerthServer, DockerDaemon, StartError, run_worker, tail

E2E_DIR = Path(__file__).resolve().parent
REQUIRED_TOOLS = ("docker", "dockerd", "podman", "skopeo")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the server logs to a failing e2e test's report."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for server in _servers_used(item):
            name = (
                server.kind
                if server.gunicorn_worker in (None, server.kind)
                else f"{server.kind} ({server.gunicorn_worker})"
            )
            report.sections.append((f"Berth {name} log (tail)", tail(server.log, 12000)))
    return report


def _servers_used(item):
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, BerthServer) and id(value) not in seen:
            seen.add(id(value))
            yield value


@pytest.fixture(scope="session")
def e2e_tmp():
    """A short temporary directory for the whole e2e session (paths end up in unix sockets)."""
    path = Path(tempfile.mkdtemp(prefix="berth-e2e-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tools():
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing e2e tools {missing}: run scripts/test-deps.sh", pytrace=False)


@pytest.fixture(scope="session")
def docker_daemon(tools):
    daemon = DockerDaemon()
    try:
        daemon.start()
        error = None
    except StartError as exc:
        error = str(exc)
    if error:
        pytest.fail(error, pytrace=False)
    yield daemon
    daemon.stop()


@pytest.fixture(scope="session")
def docker(docker_daemon, e2e_tmp):
    return Docker(docker_daemon.host, e2e_tmp / "docker-config")


@pytest.fixture(scope="session")
def podman(tools, e2e_tmp):
    return Podman(e2e_tmp / "podman")


def _start_server(kind, e2e_tmp):
    return started_or_fail(BerthServer(kind, e2e_tmp / kind, os.environ.get("DATABASE_URL")))


def _stop_server(server):
    """Stop the server; if it had died during the session, fail with its log."""
    died = server.proc is not None and server.proc.poll() is not None
    code = server.proc.returncode if died else None
    server.stop()
    if died:
        pytest.fail(f"Berth {server.kind} exited with {code} during the tests:\n{tail(server.log)}", pytrace=False)


@pytest.fixture(scope="session")
def berth(e2e_tmp):
    """Berth under gunicorn (registry_site/gunicorn.conf.py, 2 workers) with the shipped default worker, as in
    production (or the one BERTH_E2E_WORKER names)."""
    server = _start_server("gunicorn", e2e_tmp)
    yield server
    _stop_server(server)


def _worker_server(worker, request, e2e_tmp):
    """Berth under gunicorn with `worker`: the `berth` server when that is the worker it runs, else one of its own."""
    if worker == run_worker():
        yield request.getfixturevalue("berth")
        return
    server = _start_server(worker, e2e_tmp)
    yield server
    _stop_server(server)


@pytest.fixture(scope="session")
def berth_asgi(request, e2e_tmp):
    """Berth under gunicorn 27's asgi worker (BERTH_WORKER=asgi, registry_site/server/asgi_worker.py), 2 workers."""
    yield from _worker_server("asgi", request, e2e_tmp)


@pytest.fixture(scope="session")
def berth_gthread(request, e2e_tmp):
    """Berth under gunicorn's gthread worker (BERTH_WORKER=gthread, registry_site/server/workers.py), 2 workers."""
    yield from _worker_server("gthread", request, e2e_tmp)


@pytest.fixture(scope="session")
def berth_runserver(e2e_tmp):
    """Berth under `manage.py runserver --noreload` (must de-chunk docker's uploads itself)."""
    server = _start_server("runserver", e2e_tmp)
    yield server
    _stop_server(server)


@pytest.fixture(params=[*WORKERS, "runserver"])
def berth_server(request):
    """Every server, one after the other: gunicorn's asgi and gthread workers, runserver."""
    return request.getfixturevalue(f"berth_{request.param}")


@pytest.fixture(params=WORKERS)
def berth_gunicorn(request):
    """gunicorn with either worker (the shipped asgi, BERTH_WORKER=gthread)."""
    return request.getfixturevalue(f"berth_{request.param}")


@pytest.fixture
def workdir(tmp_path):
    return tmp_path
