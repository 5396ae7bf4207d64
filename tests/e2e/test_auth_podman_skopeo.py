"""podman login / push / pull and skopeo login / copy with credentials, against Berth with auth on."""

import json
import uuid

import pytest
import requests

from tests.e2e.auth_server import (  # noqa: F401  (the auth_berth fixtures)
    PASSWORDS,
    auth_berth_asgi_fixture,
    auth_berth_fixture,
    auth_berth_gthread_fixture,
)
from tests.e2e.builders import write_rootfs_tar
from tests.e2e.clients import run, skopeo
from tests.e2e.servers import WORKERS

pytestmark = pytest.mark.e2e
NO_TLS = "--tls-verify=false"


def make_private(server, name, user):
    response = requests.put(
        f"{server.url}/v1/repositories/{name}/properties",
        json={"access": "private"},
        auth=(user, PASSWORDS[user]),
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_podman_login_push_pull_logout(podman, auth_berth, workdir):
    authfile = workdir / "podman-auth.json"
    authfile.write_text("{}")
    suffix = uuid.uuid4().hex[:8]
    rootfs = write_rootfs_tar(workdir / "rootfs.tar", f"podman-auth-{suffix}")
    local = f"localhost/e2e/auth-{suffix}:1"
    podman("import", rootfs["path"], local)
    ref = f"{auth_berth.host}/alice/pod-{suffix}:1"

    refused = podman("push", NO_TLS, f"--authfile={authfile}", local, f"docker://{ref}", check=False)
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr.lower()

    wrong = run(
        [
            "podman",
            *podman.global_args,
            "login",
            NO_TLS,
            f"--authfile={authfile}",
            "-u",
            "alice",
            "--password-stdin",
            auth_berth.host,
        ],
        env=podman.env,
        input="wrong-password",
        check=False,
    )
    assert wrong.returncode != 0
    run(
        [
            "podman",
            *podman.global_args,
            "login",
            NO_TLS,
            f"--authfile={authfile}",
            "-u",
            "alice",
            "--password-stdin",
            auth_berth.host,
        ],
        env=podman.env,
        input=PASSWORDS["alice"],
    )
    podman("push", NO_TLS, f"--authfile={authfile}", local, f"docker://{ref}", timeout=600)
    make_private(auth_berth, f"alice/pod-{suffix}", "alice")
    podman("rmi", "--force", local)
    podman("pull", NO_TLS, f"--authfile={authfile}", ref, timeout=600)
    podman("rmi", "--force", ref)

    podman("logout", f"--authfile={authfile}", auth_berth.host)
    refused = podman("pull", NO_TLS, f"--authfile={authfile}", ref, check=False)
    assert refused.returncode != 0
    text = refused.stderr.lower()
    assert "unauthorized" in text or "authentication required" in text or "denied" in text, text


@pytest.fixture(params=WORKERS)
def auth_berth_any(request):
    """`auth_berth` under either worker (one server for the shipped one and auth_berth)."""
    return request.getfixturevalue(f"auth_berth_{request.param}")


def test_skopeo_login_and_copy_with_credentials(auth_berth_any, podman, workdir):
    auth_berth = auth_berth_any
    suffix = uuid.uuid4().hex[:8]
    alice, bob = f"alice:{PASSWORDS['alice']}", f"bob:{PASSWORDS['bob']}"
    # a source image in the registry, pushed by podman with explicit credentials
    rootfs = write_rootfs_tar(workdir / "rootfs.tar", f"skopeo-auth-{suffix}")
    local = f"localhost/e2e/skopeo-{suffix}:1"
    podman("import", rootfs["path"], local)
    source = f"docker://{auth_berth.host}/alice/src-{suffix}:1"
    podman("push", NO_TLS, f"--creds={alice}", local, source, timeout=600)
    podman("rmi", "--force", local)
    make_private(auth_berth, f"alice/src-{suffix}", "alice")

    # anonymous: refused; with credentials: inspect and copy
    assert skopeo("inspect", NO_TLS, source, check=False).returncode != 0
    info = json.loads(skopeo("inspect", NO_TLS, f"--creds={alice}", source).stdout)
    assert info["Name"].endswith(f"alice/src-{suffix}")
    target = f"docker://{auth_berth.host}/alice/copy-{suffix}:1"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        f"--src-creds={alice}",
        f"--dest-creds={alice}",
        source,
        target,
        timeout=600,
    )
    # bob may neither read alice's private image nor write into her namespace
    denied = skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        f"--src-creds={bob}",
        f"--dest-creds={bob}",
        source,
        f"docker://{auth_berth.host}/bob/stolen-{suffix}:1",
        check=False,
    )
    assert denied.returncode != 0
    denied = skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        f"--src-creds={alice}",
        f"--dest-creds={bob}",
        source,
        f"docker://{auth_berth.host}/alice/bobs-{suffix}:1",
        check=False,
    )
    assert denied.returncode != 0
    assert "denied" in denied.stderr.lower() or "403 (forbidden)" in denied.stderr.lower(), denied.stderr

    # skopeo login stores the credentials in an auth file used by later calls
    authfile = workdir / "skopeo-auth.json"
    authfile.write_text("{}")
    run(
        ["skopeo", "login", NO_TLS, f"--authfile={authfile}", "-u", "bob", "--password-stdin", auth_berth.host],
        input=PASSWORDS["bob"],
    )
    mine = f"docker://{auth_berth.host}/bob/copy-{suffix}:1"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        f"--src-creds={alice}",
        f"--dest-authfile={authfile}",
        source,
        mine,
        timeout=600,
    )
    tags = json.loads(skopeo("list-tags", NO_TLS, f"--authfile={authfile}", mine.rsplit(":", 1)[0]).stdout)
    assert tags["Tags"] == ["1"]
    skopeo("delete", NO_TLS, f"--authfile={authfile}", mine)
    run(["skopeo", "logout", f"--authfile={authfile}", auth_berth.host])
