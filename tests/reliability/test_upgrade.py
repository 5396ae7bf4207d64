"""Upgrades lose nothing: a registry built by the previous release, then `migrate` by this code.

The previous release (OLD_RELEASE, the last commit before this round's first migration) is checked
out with `git worktree add` into a temporary directory; ITS manage.py migrates a fresh database and
ITS gunicorn serves it, with token auth on. Real HTTP clients push v2 images (chunked uploads) and
v1 images (the v1 protocol with its tokens) as two users with an organisation's grants. Then that
server stops, this tree's `manage.py migrate` runs every migration HEAD has (whatever they are), this
tree's gunicorn serves the same database and storage, and every image must pull byte-identical and
every permission answer (push, pull, anonymous) must be what the old release answered.

Each tree runs its own gunicorn.conf.py as shipped: the previous release's gthread worker (its only one),
then this tree's default worker (asgi; BERTH_E2E_WORKER, if set, names the one to run, as for the e2e servers).
"""

import json
import os
import shutil
import subprocess
import uuid

import pytest
import requests

from images.digests import of_bytes
from images.manifest_formats import OCI_MANIFEST
from tests.e2e.servers import (
    REPO_ROOT,
    WORKER_CLASSES,
    Database,
    StartError,
    answers,
    free_port,
    run_worker,
    spawn,
    stop_process,
    tail,
    venv_bin,
    wait_ready,
)
from tests.v1.conftest import DOCKER_UA, make_image

OLD_RELEASE = "9c190f3fa10746b7a7179c04f88397fdd0447f35"  # round 1's last commit: before round 2's migrations
PASSWORDS = {"alice": "alice-Upgr4de-pw", "bob": "bob-Upgr4de-pw", "carol": "carol-Upgr4de-pw"}
CREATED = "2024-01-01T00:00:00Z"
TIMEOUT = 60


class Release:
    """One Berth tree serving the shared database and storage with gunicorn (token auth on)."""

    def __init__(self, tree, workdir, database_url, site_packages=None):
        self.tree, self.workdir, self.database_url = tree, workdir, database_url
        self.site_packages = site_packages  # packages the release pins differently, first on its path
        self.port, self.proc = free_port(), None
        self.log = workdir / f"gunicorn-{tree.name}.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "BERTH_WORKER")}
        env.update(
            DATABASE_URL=self.database_url,
            STORAGE_PATH=str(self.workdir / "storage"),
            BERTH_DATA_DIR=str(self.workdir / "data"),  # the secret key survives the upgrade, as in place
            BERTH_BIND=f"127.0.0.1:{self.port}",
            BERTH_WORKERS="2",
            REGISTRY_AUTH="token",
            PYTHONUNBUFFERED="1",
        )
        if self.site_packages:
            env["PYTHONPATH"] = str(self.site_packages)
        if self.tree == REPO_ROOT and os.environ.get("BERTH_E2E_WORKER"):
            env["BERTH_WORKER"] = run_worker()
        return env

    def manage(self, *args, input=None):
        result = subprocess.run(
            [venv_bin("python"), "manage.py", *args],
            cwd=self.tree,
            env=self.env(),
            capture_output=True,
            text=True,
            input=input,
            timeout=600,
        )
        assert result.returncode == 0, f"{self.tree.name}: manage.py {args} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def serve(self):
        cmd = [venv_bin("python"), "-m", "gunicorn", "-c", "registry_site/gunicorn.conf.py", "registry_site.wsgi"]
        self.proc = spawn(cmd, self.log, env=self.env(), cwd=self.tree)
        try:
            wait_ready(self.proc, answers(f"{self.url}/v2/", (401,)), "gunicorn", self.log, 90)
        except StartError as exc:
            self.stop()
            pytest.fail(str(exc), pytrace=False)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@pytest.fixture
def old_tree(tmp_path):
    tree = tmp_path / "previous-release"
    added = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(tree), OLD_RELEASE],
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        pytest.fail(f"cannot check out the previous release {OLD_RELEASE}: {added.stderr}", pytrace=False)
    yield tree
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    shutil.rmtree(tree, ignore_errors=True)


@pytest.fixture
def old_gunicorn(old_tree):
    """The gunicorn the previous release pins (its worker is written against that version's internals), installed
    once beside this tree's venv and put first on the old release's path: an upgrade brings its requirements."""
    pins = (old_tree / "requirements.txt").read_text().splitlines()
    pin = next(line.split("#")[0].strip() for line in pins if line.lower().startswith("gunicorn=="))
    target = REPO_ROOT / "var" / "test-tools" / pin.replace("==", "-")
    if not (target / "gunicorn").is_dir():
        installed = subprocess.run(
            [venv_bin("python"), "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), pin],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if installed.returncode != 0:
            pytest.fail(f"cannot install the previous release's {pin}: {installed.stderr}", pytrace=False)
    return target


@pytest.fixture
def database(tmp_path):
    db = Database(os.environ.get("DATABASE_URL"), tmp_path)
    try:
        db.create()
    except StartError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield db.url
    db.drop()


def basic(user):
    return (user, PASSWORDS[user]) if user else None


def push_v2(url, user, repo, tag, layers):
    """A chunked push (POST, PATCH per 64 KiB, PUT ?digest=) of each blob, then the manifest; its bytes."""
    with requests.Session() as http:
        http.auth = basic(user)
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
        descriptors = []
        for data, media_type in [(config, "application/vnd.oci.image.config.v1+json")] + [
            (layer, "application/vnd.oci.image.layer.v1.tar") for layer in layers
        ]:
            response = http.post(f"{url}/v2/{repo}/blobs/uploads/", timeout=TIMEOUT)
            assert response.status_code == 202, response.text
            location = response.headers["Location"]
            for start in range(0, len(data), 65536):
                chunk = data[start : start + 65536]
                headers = {"Content-Range": f"{start}-{start + len(chunk) - 1}"}
                response = http.patch(url + location if location.startswith("/") else location, chunk, headers=headers)
                assert response.status_code == 202, response.text
                location = response.headers["Location"]
            target = url + location if location.startswith("/") else location
            response = http.put(target, params={"digest": of_bytes(data)}, timeout=TIMEOUT)
            assert response.status_code == 201, response.text
            descriptors.append({"mediaType": media_type, "digest": of_bytes(data), "size": len(data)})
        manifest = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptors[0], "layers": descriptors[1:]}
        ).encode()
        response = http.put(
            f"{url}/v2/{repo}/manifests/{tag}", manifest, headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT
        )
        assert response.status_code == 201, response.text
    return {
        "manifest": manifest,
        "blobs": {d["digest"]: b for d, b in zip(descriptors, [config, *layers], strict=True)},
    }


def push_v1(url, user, repo, images):
    """Docker 1.x's push: the index hands out a token, the image endpoints take it."""
    with requests.Session() as http:
        http.headers["User-Agent"] = DOCKER_UA
        ids = json.dumps([{"id": i.id} for i in images])
        response = http.put(f"{url}/v1/repositories/{repo}/", ids, auth=basic(user), headers={"X-Docker-Token": "true"})
        assert response.status_code == 200, response.text
        http.headers["Authorization"] = "Token " + response.headers["X-Docker-Token"]
        for image in images:
            base = f"{url}/v1/images/{image.id}"
            assert http.put(f"{base}/json", image.json).status_code == 200
            assert http.put(f"{base}/layer", image.layer).status_code == 200
            checksum = {"X-Docker-Checksum": image.tarsum, "X-Docker-Checksum-Payload": image.payload_checksum}
            assert http.put(f"{base}/checksum", headers=checksum).status_code == 200
        response = http.put(f"{url}/v1/repositories/{repo}/tags/latest", json.dumps(images[-1].id))
        assert response.status_code == 200, response.text
        del http.headers["Authorization"]
        response = http.put(
            f"{url}/v1/repositories/{repo}/images", "[]", auth=basic(user), headers={"X-Docker-Token": "true"}
        )
        assert response.status_code == 204, response.text
    return {image.id: image.layer for image in images}


def pull_v2(url, user, repo, tag):
    """(manifest bytes, {digest: blob bytes}) as a client reads them, or the refusal's status."""
    http = requests.Session()
    http.auth = basic(user)
    response = http.get(f"{url}/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}, timeout=TIMEOUT)
    if response.status_code != 200:
        return response.status_code
    manifest = json.loads(response.content)
    blobs = {}
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = http.get(f"{url}/v2/{repo}/blobs/{descriptor['digest']}", timeout=TIMEOUT)
        assert blob.status_code == 200, blob.text
        blobs[descriptor["digest"]] = blob.content
    return response.content, blobs


def pull_v1(url, user, repo):
    """{image id: layer bytes} of the repository's latest tag through the v1 protocol, or a status."""
    http = requests.Session()
    http.headers["User-Agent"] = DOCKER_UA
    response = http.get(
        f"{url}/v1/repositories/{repo}/images", auth=basic(user), headers={"X-Docker-Token": "true"}, timeout=TIMEOUT
    )
    if response.status_code != 200:
        return response.status_code
    http.headers["Authorization"] = "Token " + response.headers["X-Docker-Token"]
    top = http.get(f"{url}/v1/repositories/{repo}/tags/latest", timeout=TIMEOUT).json()
    layers = {}
    for image_id in http.get(f"{url}/v1/images/{top}/ancestry", timeout=TIMEOUT).json():
        layer = http.get(f"{url}/v1/images/{image_id}/layer", timeout=TIMEOUT)
        assert layer.status_code == 200, layer.text
        layers[image_id] = layer.content
    return layers


def may_push(url, user, repo):
    """The status of opening an upload session: 202 when `user` may push to `repo`."""
    return requests.post(f"{url}/v2/{repo}/blobs/uploads/", auth=basic(user), timeout=TIMEOUT).status_code


def build(url, old):
    """Users, an organisation with a writer and a reader, v1 and v2 images: what must survive."""
    old.manage(
        "berth_user", "alice", "--password-stdin", "--org", "acme", "--role", "admin", input="alice-Upgr4de-pw\n"
    )
    old.manage("berth_user", "bob", "--password-stdin", "--org", "acme", "--role", "read", input="bob-Upgr4de-pw\n")
    old.manage("berth_user", "carol", "--password-stdin", input="carol-Upgr4de-pw\n")
    layer = os.urandom(300_000)
    pushed = {
        ("alice/app", "1.0"): push_v2(url, "alice", "alice/app", "1.0", [layer, os.urandom(70_000)]),
        ("acme/tool", "stable"): push_v2(url, "alice", "acme/tool", "stable", [layer]),  # a blob two repos share
        ("carol/own", "x"): push_v2(url, "carol", "carol/own", "x", [os.urandom(1000)]),
    }
    base = make_image(f"upgrade-base-{uuid.uuid4().hex}", None, {"etc/os-release": b"NAME=old\n"}, "ADD / /", CREATED)
    top = make_image(f"upgrade-top-{uuid.uuid4().hex}", base, {"etc/app.conf": b"v = 1\n"}, "echo", CREATED)
    pushed_v1 = {"alice/legacy": push_v1(url, "alice", "alice/legacy", [base, top])}
    return pushed, pushed_v1


def observe(url, pushed, pushed_v1):
    """What every user sees: each pull's bytes (or refusal) and each push permission."""
    users = [None, "alice", "bob", "carol"]
    seen = {}
    for user in users:
        for repo, tag in pushed:
            seen[("pull", user, repo)] = pull_v2(url, user, repo, tag)
            seen[("push", user, repo)] = may_push(url, user, repo)
        for repo in pushed_v1:
            seen[("pull-v1", user, repo)] = pull_v1(url, user, repo)
    return seen


def test_an_upgrade_keeps_every_image_and_permission(tmp_path, old_tree, old_gunicorn, database):
    old = Release(old_tree, tmp_path, database, site_packages=old_gunicorn)
    old.manage("migrate", "--noinput")
    old.serve()
    try:
        pushed, pushed_v1 = build(old.url, old)
        before = observe(old.url, pushed, pushed_v1)
    finally:
        old.stop()
    for (repo, _), image in pushed.items():  # the owners read back what they pushed, before the upgrade
        owner = "carol" if repo.startswith("carol/") else "alice"
        assert before[("pull", owner, repo)] == (image["manifest"], image["blobs"]), repo
    assert before[("pull-v1", "alice", "alice/legacy")] == pushed_v1["alice/legacy"]
    assert before[("pull", "bob", "acme/tool")] == before[("pull", "alice", "acme/tool")]  # the org's reader
    assert before[("push", "bob", "acme/tool")] != 202 and before[("push", "alice", "acme/tool")] == 202

    new = Release(REPO_ROOT, tmp_path, database)
    assert "[ ]" in new.manage("showmigrations", "--plan")  # this round adds migrations: they run here
    new.manage("migrate", "--noinput")
    assert "[ ]" not in new.manage("showmigrations", "--plan")
    new.serve()
    try:
        assert f"Using worker: {WORKER_CLASSES[run_worker()]}" in new.log.read_text()  # this tree's default
        after = observe(new.url, pushed, pushed_v1)
    finally:
        new.stop()
        print(tail(new.log, 4000))
    for key in before:
        assert after[key] == before[key], (key, str(after[key])[:200], str(before[key])[:200])
