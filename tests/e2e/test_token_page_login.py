"""The `docker login` command the token-created page shows works when pasted into a shell, with the real engine
against gunicorn: for a personal access token (Tokens page) and for a robot account (organisation page, whose
organisation a staff user created on the Organisations page with alice as its admin)."""

import html
import re
import uuid

import pytest

from tests.e2e.auth_server import PASSWORDS, Browser, auth_berth_fixture  # noqa: F401  (the auth_berth fixture)
from tests.e2e.clients import Docker, run

pytestmark = pytest.mark.e2e
STAFF = ("page-staff", "page-Staff-Pa55-e2e")


@pytest.fixture(scope="module")
def page_docker(docker_daemon, e2e_tmp):
    return Docker(docker_daemon.host, e2e_tmp / "token-page-docker-config")


def login_command(response):
    assert response.status_code == 200, response.text[-2000:]
    return html.unescape(
        re.search(r'<code id="login-command"[^>]*>([^<]+)</code>', response.text.replace("<wbr>", "")).group(1)
    )


def paste(docker, command):
    return run(["sh", "-c", command], env=docker.env, timeout=120)


def test_the_pasted_login_commands_log_in(page_docker, auth_berth):
    suffix = uuid.uuid4().hex[:8]
    alice = Browser(auth_berth, "alice", PASSWORDS["alice"])
    form = {"name": f"laptop-{suffix}", "repositories": "alice/*", "actions": ["pull", "push"]}
    command = login_command(alice.post("/accounts/tokens/", form))
    assert command.endswith(f"docker login {auth_berth.host} --username alice --password-stdin")
    assert "Login Succeeded" in paste(page_docker, command).stdout
    page_docker("logout", auth_berth.host)

    auth_berth.create_user(STAFF[0], STAFF[1], "--staff")
    org = f"acme{suffix}"
    created = Browser(auth_berth, *STAFF).post("/orgs/", {"name": org, "description": "", "admin": "alice"})
    assert created.status_code == 200 and f"Created organisation {org}." in created.text
    robot = {"name": "ci", "repositories": f"{org}/*", "actions": ["pull", "push"]}
    command = login_command(alice.post(f"/orgs/{org}/robots/add/", robot))
    assert command.endswith(f"docker login {auth_berth.host} --username {org}+ci --password-stdin")
    assert "Login Succeeded" in paste(page_docker, command).stdout
    page_docker("logout", auth_berth.host)
