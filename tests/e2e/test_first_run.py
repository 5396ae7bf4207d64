"""A new installation says, once, how to create the first account: `make run` (runserver) and gunicorn."""

import subprocess

import pytest

from tests.e2e.auth_server import AuthBerth
from tests.e2e.servers import REPO_ROOT, StartError, answers, free_port, spawn, stop_process, venv_bin, wait_ready

pytestmark = pytest.mark.e2e
HINT = "No account exists yet."


def start(server, *, migrate=True):
    try:
        server.start() if migrate else server.launch()
    except StartError as error:
        pytest.fail(str(error), pytrace=False)


def wait_for_log(server, text, timeout=20):
    wait_ready(server.proc, lambda: text in server.log.read_text() or "not yet", "gunicorn", server.log, timeout)


@pytest.mark.parametrize("preload", ["true", "false"])
def test_gunicorn_says_it_once_then_not_when_an_account_exists(e2e_tmp, preload):
    server = AuthBerth(e2e_tmp / f"first-run-gunicorn-{preload}", None, {"BERTH_PRELOAD": preload})
    server.database.base_url = ""  # SQLite in the server's folder: an empty installation of its own
    try:
        start(server)
        wait_for_log(server, "docker push")
        log = server.log.read_text()
        assert log.count(HINT) == 1, log  # the master says it, not each of the 2 workers
        host = server.host
        assert "berth_user alice --staff" in log and f"docker login {host} -u alice" in log
        assert f"docker push {host}/alice/app:1" in log
        if preload == "false":
            return
        stop_process(server.proc)
        server.create_user("alice", "alice-Pa55-e2e", "--staff")
        server.log.write_text("")
        start(server, migrate=False)
        wait_for_log(server, "Booting worker")
        assert HINT not in server.log.read_text()
    finally:
        server.stop()


def test_make_run_says_it_once_with_the_autoreloader(e2e_tmp):
    """runserver as `make run` starts it (autoreloader on: a parent and a serving child)."""
    server = AuthBerth(e2e_tmp / "first-run-runserver", None)
    server.database.base_url = ""
    server.database.create()
    server.port = free_port()
    env = server.env()
    subprocess.run([venv_bin("python"), "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True)
    cmd = [venv_bin("python"), "manage.py", "runserver", f"0.0.0.0:{server.port}"]
    for accounts in (0, 1):
        server.log.write_text("")
        server.proc = spawn(cmd, server.log, env=env, cwd=REPO_ROOT)
        try:
            wait_ready(server.proc, answers(f"{server.url}/v2/", (401,)), "runserver", server.log, 60)
            log = server.log.read_text()
        finally:
            stop_process(server.proc)
        if accounts == 0:
            assert log.count(HINT) == 1, log
            assert f"docker login 127.0.0.1:{server.port} -u alice" in log  # 0.0.0.0 is reached as 127.0.0.1
            assert "python manage.py berth_user alice --staff" in log  # this interpreter's path, then manage.py
            server.create_user("alice", "alice-Pa55-e2e")
        else:
            assert HINT not in log, log
