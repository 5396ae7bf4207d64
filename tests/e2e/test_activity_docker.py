"""The activity log and tag restore with the real docker engine, accounts on, against gunicorn."""

import time
import uuid

import pytest
import requests

from tests.e2e.auth_server import PASSWORDS, auth_berth_fixture  # noqa: F401  (the auth_berth fixture)
from tests.e2e.builders import write_rootfs_tar
from tests.e2e.clients import Docker, run

pytestmark = pytest.mark.e2e


def _docker(docker_daemon, e2e_tmp, name):
    return Docker(docker_daemon.host, e2e_tmp / f"activity-{name}-config")


def _login(docker, server, user):
    run(["docker", "login", server.host, "-u", user, "--password-stdin"], env=docker.env, input=PASSWORDS[user])


def _push(docker, workdir, ref, label):
    rootfs = write_rootfs_tar(workdir / f"{label}.tar", label)
    docker("import", rootfs["path"], ref)
    digest = docker.pushed_digest(ref, docker("push", ref, timeout=600).stdout)
    return digest, docker.image_id(ref)


def _activity(server, repository):
    answer = requests.get(
        f"{server.url}/api/activity/",
        params={"repository": repository, "order": "asc"},
        auth=("alice", PASSWORDS["alice"]),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def test_push_pull_untag_are_logged_and_a_restore_brings_the_first_image_back(
    docker_daemon, e2e_tmp, auth_berth, workdir
):
    alice, bob = _docker(docker_daemon, e2e_tmp, "alice"), _docker(docker_daemon, e2e_tmp, "bob")
    repository = f"alice/app-{uuid.uuid4().hex[:8]}"
    ref = f"{auth_berth.host}/{repository}:1"
    _login(alice, auth_berth, "alice")
    _login(bob, auth_berth, "bob")
    try:
        first, first_id = _push(alice, workdir, ref, f"first-{repository[-8:]}")
        second, second_id = _push(alice, workdir, ref, f"second-{repository[-8:]}")
        assert first != second and first_id != second_id
        bob("pull", ref, timeout=600)
        assert bob.image_id(ref) == second_id
        deleted = requests.delete(
            f"{auth_berth.url}/v2/{repository}/manifests/1", auth=("alice", PASSWORDS["alice"]), timeout=30
        )
        assert deleted.status_code == 202, deleted.text

        wanted = [  # docker resolves the tag with a HEAD, then GETs the manifest by digest: the pull names no tag
            ("push", "alice", "1", first, ""),
            ("push", "alice", "1", second, first),
            ("pull", "bob", "", second, ""),
            ("untag", "alice", "1", second, second),
        ]
        deadline = time.monotonic() + 15  # the pull counter is written right after the response
        while True:
            rows = _activity(auth_berth, repository)
            got = [(r["action"], r["actor"], r["tag"], r["digest"], r["previous_digest"]) for r in rows]
            if got == wanted or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert got == wanted

        history = requests.get(
            f"{auth_berth.url}/api/activity/tags/",
            params={"repository": repository, "tag": "1"},
            auth=("alice", PASSWORDS["alice"]),
            timeout=30,
        ).json()["entries"]
        assert {e["digest"] for e in history} == {first, second}

        restored = requests.post(
            f"{auth_berth.url}/api/activity/restore/",
            json={"repository": repository, "tag": "1", "digest": first},
            auth=("alice", PASSWORDS["alice"]),
            timeout=30,
        )
        assert restored.status_code == 200, restored.text
        bob.rmi(ref)
        bob("pull", ref, timeout=600)
        assert bob.image_id(ref) == first_id
        assert _activity(auth_berth, repository)[-1]["action"] in ("restore", "pull")
        assert any(r["action"] == "restore" and r["actor"] == "alice" for r in _activity(auth_berth, repository))
    finally:
        alice("rmi", "--force", ref, check=False)
        bob("rmi", "--force", ref, check=False)
        run(["docker", "logout", auth_berth.host], env=alice.env, check=False)
        run(["docker", "logout", auth_berth.host], env=bob.env, check=False)
