"""A Berth server with registry authentication on (REGISTRY_AUTH=token), and its users.

The shared `berth` fixtures run an open registry (REGISTRY_AUTH=none); the auth
end-to-end tests (test_auth_*.py) use this one, with users created through
`manage.py berth_user` against the server's own database.
"""

import contextlib
import os
import subprocess

import pytest
import requests

from tests.e2e.servers import REPO_ROOT, BerthServer, StartError, run_worker, tail, venv_bin
from tests.support.oidc_provider.server import OidcProvider

PASSWORDS = {"alice": "alice-Pa55-e2e", "bob": "bob-Pa55-e2e"}


class AuthBerth(BerthServer):
    def __init__(self, workdir, database_url, extra_env=None, kind="gunicorn"):
        super().__init__(kind, workdir, database_url)
        self.extra_env = extra_env or {}

    def env(self):
        return {**super().env(), "REGISTRY_AUTH": "token", **self.extra_env}

    def manage(self, *args, input=None):
        result = subprocess.run(
            [venv_bin("python"), "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def create_user(self, username, password, *extra):
        return self.manage("berth_user", username, "--password-stdin", *extra, input=password + "\n")

    def create_token(self, username, name, *extra):
        """A personal access token (or a robot with --robot/--org); returns the secret."""
        return self.manage("berth_user", username, "--token", name, *extra).strip().splitlines()[-1]


class Browser:
    """A signed-in browser session: cookies and CSRF tokens, as a browser sends them."""

    def __init__(self, server, username, password):
        self.server, self.session = server, requests.Session()
        self.get("/accounts/login/")
        response = self.post("/accounts/login/", {"username": username, "password": password})
        assert "/accounts/login/" not in response.url, f"sign-in as {username} failed"

    def get(self, path):
        return self.session.get(self.server.url + path, timeout=30)

    def post(self, path, form):
        data = {**form, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]}
        return self.session.post(
            self.server.url + path, data=data, headers={"Referer": self.server.url + path}, timeout=30
        )


@contextlib.contextmanager
def berth_with_oidc(workdir, users, **extra_env):
    """A real OpenID Connect provider (tests/support/oidc_provider) with `users` ({name: {"password",
    "groups"}}) and an AuthBerth signing in through it, whose mapping makes the provider's `developers`
    write members of organisation acme. Yields (berth, provider); both are stopped after."""
    provider = OidcProvider(workdir / "provider")
    berth = None
    try:
        provider.start()
        env = {**provider.berth_env(), **extra_env}
        berth = AuthBerth(workdir / "berth", os.environ.get("DATABASE_URL"), extra_env=env)
        berth.start()
        provider.configure(f"{berth.url}/oidc/callback/", users)
        berth.manage("berth_org", "acme", "--create")
        berth.manage("berth_sso", "--source", "oidc", "--map", "developers", "--org", "acme", "--role", "write")
    except (StartError, AssertionError) as error:
        provider.stop()
        if berth is not None:
            berth.stop()
        pytest.fail(str(error), pytrace=False)
    try:
        yield berth, provider
    finally:
        berth.stop()
        provider.stop()


@pytest.fixture(scope="session", name="auth_berth")
def auth_berth_fixture(e2e_tmp):
    """Import this into a test module to use the `auth_berth` fixture (one server per session), under the
    shipped default worker (or the one BERTH_E2E_WORKER names)."""
    yield from _auth_berth(e2e_tmp, "gunicorn")


@pytest.fixture(scope="session", name="auth_berth_asgi")
def auth_berth_asgi_fixture(request, e2e_tmp):
    """`auth_berth` under the asgi worker (BERTH_WORKER=asgi); `auth_berth` itself when it runs that worker."""
    yield from _auth_berth_worker("asgi", request, e2e_tmp)


@pytest.fixture(scope="session", name="auth_berth_gthread")
def auth_berth_gthread_fixture(request, e2e_tmp):
    """`auth_berth` under the gthread worker (BERTH_WORKER=gthread); `auth_berth` itself when it runs that worker."""
    yield from _auth_berth_worker("gthread", request, e2e_tmp)


def _auth_berth_worker(worker, request, e2e_tmp):
    if worker == run_worker():  # the module imports auth_berth_fixture too
        yield request.getfixturevalue("auth_berth")
    else:
        yield from _auth_berth(e2e_tmp, worker)


def _auth_berth(e2e_tmp, kind):
    server = AuthBerth(e2e_tmp / f"auth-{kind}", os.environ.get("DATABASE_URL"), kind=kind)
    try:
        server.start()
        for name, password in PASSWORDS.items():
            server.create_user(name, password)
        error = None
    except (StartError, AssertionError) as exc:
        error = str(exc)
    if error:
        server.stop()
        pytest.fail(error, pytrace=False)
    yield server
    died = server.proc is not None and server.proc.poll() is not None
    server.stop()
    if died:
        pytest.fail(f"the auth Berth server exited during the tests:\n{tail(server.log)}", pytrace=False)
    log = server.log.read_text(errors="replace") if server.log.exists() else ""
    leaked = [name for name, password in PASSWORDS.items() if password in log]
    assert not leaked, f"passwords of {leaked} appear in the server log"
