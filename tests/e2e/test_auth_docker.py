"""docker login / push / pull / logout against Berth with registry authentication on (the real engine)."""

import json
import uuid

import pytest
import requests

from tests.e2e.auth_server import PASSWORDS, auth_berth_fixture  # noqa: F401  (the auth_berth fixture)
from tests.e2e.builders import write_rootfs_tar
from tests.e2e.clients import Docker, run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def authed_docker(docker_daemon, e2e_tmp):
    """A docker client with its own config (credentials) directory."""
    return Docker(docker_daemon.host, e2e_tmp / "auth-docker-config")


def login(docker, server, user, password, check=True):
    cmd = ["docker", "login", server.host, "-u", user, "--password-stdin"]
    return run(cmd, env=docker.env, check=check, input=password, timeout=120)


def local_image(docker, workdir, label):
    rootfs = write_rootfs_tar(workdir / f"{label}.tar", label)
    ref = f"e2e-local/{label}:1"
    docker("import", rootfs["path"], ref)
    return ref


def test_docker_login_push_pull_logout(authed_docker, auth_berth, workdir):
    docker, host = authed_docker, auth_berth.host
    suffix = uuid.uuid4().hex[:8]
    local = local_image(docker, workdir, f"auth-{suffix}")
    ref = f"{host}/alice/app:{suffix}"
    docker("tag", local, ref)

    # anonymous push is refused
    refused = docker("push", ref, check=False, timeout=300)
    assert refused.returncode != 0
    assert "unauthorized" in (refused.stdout + refused.stderr).lower() or "authentication required" in (
        refused.stdout + refused.stderr
    )

    # a wrong password is refused at login
    wrong = login(docker, auth_berth, "alice", "not-her-password", check=False)
    assert wrong.returncode != 0 and "unauthorized" in wrong.stderr.lower()

    result = login(docker, auth_berth, "alice", PASSWORDS["alice"])
    assert "Login Succeeded" in result.stdout
    # docker keeps the refresh token (identity token), not the password
    config = json.loads((docker_config_dir(docker) / "config.json").read_text())
    entry = config["auths"][host]
    assert entry.get("identitytoken"), entry
    assert PASSWORDS["alice"] not in json.dumps(config)

    docker("push", ref, timeout=600)

    # make it private, then pull with and without credentials
    response = requests.put(
        f"{auth_berth.url}/v1/repositories/alice/app/properties",
        json={"access": "private"},
        auth=("alice", PASSWORDS["alice"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    docker.rmi(ref)
    docker("pull", ref, timeout=600)
    assert docker.has_image(ref)

    docker.rmi(ref)
    docker("logout", host)
    refused = docker("pull", ref, check=False, timeout=300)
    assert refused.returncode != 0
    out = (refused.stdout + refused.stderr).lower()
    assert "denied" in out or "unauthorized" in out or "authentication required" in out, out
    anonymous = requests.get(f"{auth_berth.url}/v2/alice/app/manifests/{suffix}", timeout=30)
    assert anonymous.status_code == 401
    challenge = anonymous.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{auth_berth.url}/v2/token",service="berth"')
    assert 'scope="repository:alice/app:pull"' in challenge
    assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"
    docker.rmi(local)


def test_docker_push_to_someone_elses_namespace_is_denied(authed_docker, auth_berth, workdir):
    docker, host = authed_docker, auth_berth.host
    suffix = uuid.uuid4().hex[:8]
    local = local_image(docker, workdir, f"bob-{suffix}")
    login(docker, auth_berth, "bob", PASSWORDS["bob"])
    try:
        theirs, mine = f"{host}/alice/bobs-{suffix}:1", f"{host}/bob/app-{suffix}:1"
        docker("tag", local, theirs)
        docker("tag", local, mine)
        refused = docker("push", theirs, check=False, timeout=300)
        assert refused.returncode != 0
        assert "denied" in (refused.stdout + refused.stderr).lower()
        docker("push", mine, timeout=600)  # the first push into his own namespace creates the repository
        tags = requests.get(
            f"{auth_berth.url}/v2/bob/app-{suffix}/tags/list", auth=("bob", PASSWORDS["bob"]), timeout=30
        )
        assert tags.json()["tags"] == ["1"]
        docker.rmi(theirs, mine, local)
    finally:
        docker("logout", host)


def make_private(server, name, login, password):
    url = f"{server.url}/v1/repositories/{name}/properties"
    response = requests.put(url, json={"access": "private"}, auth=(login, password), timeout=30)
    assert response.status_code == 200, response.text


def push_then_pull_private(docker, server, ref, owner):
    """Push `ref` with the logged-in credentials, make its repository private, pull it back with them."""
    docker("push", ref, timeout=600)
    name = ref.split("/", 1)[1].rsplit(":", 1)[0]
    make_private(server, name, owner, PASSWORDS[owner])
    docker.rmi(ref)
    docker("pull", ref, timeout=600)
    assert docker.has_image(ref)
    anonymous = requests.get(f"{server.url}/v2/{name}/tags/list", timeout=30)
    assert anonymous.status_code == 401  # the pull above needed the credentials


def test_docker_login_with_an_access_token(authed_docker, auth_berth, workdir):
    docker, host = authed_docker, auth_berth.host
    secret = auth_berth.create_token(
        "alice", f"ci-{uuid.uuid4().hex[:6]}", "--token-scope", "alice/ci-*", "--token-actions", "pull,push"
    )
    assert secret.startswith("berth_")
    suffix = uuid.uuid4().hex[:8]
    local = local_image(docker, workdir, f"pat-{suffix}")
    login(docker, auth_berth, "alice", secret)
    try:
        allowed, outside = f"{host}/alice/ci-{suffix}:1", f"{host}/alice/other-{suffix}:1"
        docker("tag", local, allowed)
        docker("tag", local, outside)
        push_then_pull_private(docker, auth_berth, allowed, "alice")
        refused = docker("push", outside, check=False, timeout=300)
        assert refused.returncode != 0 and "denied" in (refused.stdout + refused.stderr).lower()
        docker.rmi(allowed, outside, local)
    finally:
        docker("logout", host)
    assert secret not in auth_berth.log.read_text(errors="replace")


def test_docker_login_as_a_robot_account(authed_docker, auth_berth, workdir):
    """docker keeps the robot's refresh token and uses it for every push and pull (issue #24)."""
    docker, host = authed_docker, auth_berth.host
    org, robot = f"acme{uuid.uuid4().hex[:6]}", "ci"
    secret = auth_berth.create_token(
        "alice", robot, "--org", org, "--role", "admin", "--robot", robot, "--token-actions", "pull,push"
    )
    suffix = uuid.uuid4().hex[:8]
    local = local_image(docker, workdir, f"robot-{suffix}")
    result = login(docker, auth_berth, f"{org}+{robot}", secret)
    assert "Login Succeeded" in result.stdout
    config = json.loads((docker_config_dir(docker) / "config.json").read_text())
    assert config["auths"][host].get("identitytoken")  # the refresh-token flow, not Basic on each call
    try:
        mine, outside = f"{host}/{org}/web:1.0", f"{host}/alice/robot-{suffix}:1"
        docker("tag", local, mine)
        docker("tag", local, outside)
        push_then_pull_private(docker, auth_berth, mine, "alice")
        refused = docker("push", outside, check=False, timeout=300)  # a robot acts only in its organisation
        assert refused.returncode != 0 and "denied" in (refused.stdout + refused.stderr).lower()
        docker.rmi(mine, outside, local)
    finally:
        docker("logout", host)
    assert secret not in auth_berth.log.read_text(errors="replace")


def docker_config_dir(docker):
    from pathlib import Path

    return Path(docker.env["DOCKER_CONFIG"])
