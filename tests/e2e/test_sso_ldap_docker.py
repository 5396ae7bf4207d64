"""LDAP single sign-on end to end: a real slapd, a real gunicorn Berth with auth on, the real docker engine.

A directory user logs docker (and podman) in with their directory password and pushes to their namespace; a member
of a mapped group pushes to the organisation; after leaving the group they are refused at the next
login; a user deleted from the directory can neither log in nor refresh docker's identity token.
"""

import os
import uuid

import pytest
import requests

from tests.e2e.auth_server import AuthBerth
from tests.e2e.builders import write_rootfs_tar
from tests.e2e.clients import Docker, run
from tests.e2e.ldap_server import GROUPS, USERS, LdapServer
from tests.e2e.servers import StartError, tail
from tests.e2e.test_auth_docker import local_image, login

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def directory(e2e_tmp):
    server = LdapServer(e2e_tmp / "slapd-docker")
    try:
        server.start()
    except StartError as error:
        server.stop()
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sso_berth(directory, e2e_tmp):
    server = AuthBerth(e2e_tmp / "sso-ldap-gunicorn", os.environ.get("DATABASE_URL"), extra_env=directory.env())
    try:
        server.start()
        server.manage("berth_org", "acme", "--create")
        server.manage("berth_sso", "--map", f"cn=developers,{GROUPS}", "--org", "acme", "--role", "write")
    except (StartError, AssertionError) as error:
        server.stop()
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()
    log = tail(server.log, 200000)
    assert not [uid for uid, password in USERS.items() if password in log], "a directory password is in the log"


@pytest.fixture
def sso_docker(docker_daemon, tmp_path):
    return Docker(docker_daemon.host, tmp_path / "docker-config")


def refused(result):
    out = (result.stdout + result.stderr).lower()
    return result.returncode != 0 and ("denied" in out or "unauthorized" in out or "authentication required" in out)


def test_directory_password_pushes_to_own_namespace(sso_docker, sso_berth, workdir):
    docker, host = sso_docker, sso_berth.host
    ref = f"{host}/dora/app:{uuid.uuid4().hex[:8]}"
    docker("tag", local_image(docker, workdir, "dora"), ref)
    assert not login(docker, sso_berth, "dora", "wrong-password", check=False).returncode == 0
    assert "Login Succeeded" in login(docker, sso_berth, "dora", USERS["dora"]).stdout
    docker("push", ref, timeout=600)
    tags = requests.get(f"{sso_berth.url}/v2/dora/app/tags/list", auth=("dora", USERS["dora"]), timeout=30)
    assert tags.status_code == 200 and ref.rsplit(":", 1)[1] in tags.json()["tags"]
    # The account was created at the first login, with no usable local password.
    code = "from django.contrib.auth.models import User; print(User.objects.get(username='dora').has_usable_password())"
    assert sso_berth.manage("shell", "-c", code).strip().splitlines()[-1] == "False"


def test_group_member_pushes_to_organisation_until_removed_from_group(sso_docker, sso_berth, directory, workdir):
    docker, host = sso_docker, sso_berth.host
    local = local_image(docker, workdir, "dave")
    first, second = (f"{host}/acme/app:{uuid.uuid4().hex[:8]}" for _ in range(2))
    docker("tag", local, first)
    docker("tag", local, second)
    assert "Login Succeeded" in login(docker, sso_berth, "dave", USERS["dave"]).stdout
    docker("push", first, timeout=600)  # developers -> acme write
    assert "dave" in sso_berth.manage("berth_org", "acme")

    directory.remove_member("developers", "dave")
    assert "Login Succeeded" in login(docker, sso_berth, "dave", USERS["dave"]).stdout  # still in the directory
    assert refused(docker("push", second, check=False, timeout=300))
    assert "dave" not in sso_berth.manage("berth_org", "acme")


def test_user_deleted_from_directory_cannot_refresh_or_login(sso_docker, sso_berth, directory, workdir):
    docker, host = sso_docker, sso_berth.host
    ref = f"{host}/erin/app:{uuid.uuid4().hex[:8]}"
    docker("tag", local_image(docker, workdir, "erin"), ref)
    assert "Login Succeeded" in login(docker, sso_berth, "erin", USERS["erin"]).stdout  # keeps an identity token
    directory.delete_user("erin")
    assert refused(docker("push", ref, check=False, timeout=300))  # the refresh grant looks her up again
    assert login(docker, sso_berth, "erin", USERS["erin"], check=False).returncode != 0


def test_podman_login_with_directory_password_pushes(podman, sso_berth, workdir):
    authfile = workdir / "podman-auth.json"
    authfile.write_text("{}")
    suffix = uuid.uuid4().hex[:8]
    local = f"localhost/e2e/sso-{suffix}:1"
    podman("import", write_rootfs_tar(workdir / "rootfs.tar", f"sso-podman-{suffix}")["path"], local)
    base = ["podman", *podman.global_args, "login", "--tls-verify=false", f"--authfile={authfile}", "-u", "dora"]
    login_cmd = [*base, "--password-stdin", sso_berth.host]
    assert run(login_cmd, env=podman.env, input="wrong-password", check=False).returncode != 0
    run(login_cmd, env=podman.env, input=USERS["dora"])
    ref = f"docker://{sso_berth.host}/dora/pod-{suffix}:1"
    podman("push", "--tls-verify=false", f"--authfile={authfile}", local, ref, timeout=600)
    tags = requests.get(f"{sso_berth.url}/v2/dora/pod-{suffix}/tags/list", auth=("dora", USERS["dora"]), timeout=30)
    assert tags.status_code == 200 and tags.json()["tags"] == ["1"]
