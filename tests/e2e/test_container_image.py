"""The Dockerfile: build the image, `docker run` it with a volume, push and pull through it.

Docker Hub can't be reached here, so the base image is made locally: a Debian 12
minbase (debootstrap, with python3 and python3-venv) imported with `docker import`
and passed as the Dockerfile's BASE build argument.
"""

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.builders import write_rootfs_tar
from tests.e2e.servers import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e
BASE = "berth-base:bookworm"
CONTEXT_SKIP = {".venv", "var", ".git", "tests", "bench", ".pytest_cache", ".ruff_cache", "__pycache__"}


def make_base_image(docker, workdir):
    if docker("image", "inspect", BASE, check=False).returncode == 0:
        return
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed (scripts/test-deps.sh installs it)", pytrace=False)
    rootfs = workdir / "rootfs"
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            str(rootfs),
            "http://deb.debian.org/debian",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "import", "-", BASE], stdin=tar.stdout, env=docker.env, check=True, capture_output=True, timeout=600
    )
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)


def build_context(workdir):
    """The repository without local state, plus this machine's extra CA certificates (TLS-intercepting proxy)."""
    context = workdir / "context"
    shutil.copytree(REPO_ROOT, context, ignore=lambda d, names: [n for n in names if n in CONTEXT_SKIP])
    for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(cert, context / "deploy" / "extra-ca" / cert.name)
    return context


@pytest.fixture(scope="module")
def berth_image(docker, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("image")
    make_base_image(docker, workdir)
    tag = f"berth:e2e-{uuid.uuid4().hex[:8]}"
    docker(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE={BASE}",
        "-t",
        tag,
        str(build_context(workdir)),
        timeout=1800,
    )
    yield tag
    docker("rmi", "--force", tag, check=False)


def run_container(docker, image, port, *args):
    """`docker run -d` Berth on 127.0.0.1:port (an open registry, as the other e2e servers); its id once it answers."""
    container = docker(
        "run",
        "-d",
        "--network",
        "host",
        "-e",
        f"BERTH_BIND=127.0.0.1:{port}",
        "-e",
        "BERTH_WORKERS=2",
        "-e",
        "REGISTRY_AUTH=none",
        *args,
        image,
    ).stdout.strip()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=5).status_code == 200:
                return container
        except requests.RequestException:
            pass
        time.sleep(1)
    logs = docker("logs", container, check=False)
    docker("rm", "--force", container, check=False)
    pytest.fail(f"container did not answer:\n{logs.stdout}\n{logs.stderr}", pytrace=False)


def push_local_image(docker, workdir, ref):
    label = f"ctr-{uuid.uuid4().hex[:8]}"
    rootfs = write_rootfs_tar(workdir / f"{label}.tar", label)
    image_id = docker("import", rootfs["path"], f"e2e-local/{label}:1").stdout.strip().splitlines()[-1]
    docker("tag", f"e2e-local/{label}:1", ref)
    digest = docker.pushed_digest(ref, docker("push", ref, timeout=600).stdout)
    docker.rmi(ref, f"e2e-local/{label}:1")
    return image_id, digest


def test_docker_run_then_push_and_pull_through_it(docker, berth_image, workdir):
    volume = workdir / "registry-volume"
    volume.mkdir()
    port = free_port()
    container = run_container(docker, berth_image, port, "-v", f"{volume}:/var/lib/registry")
    try:
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()["status"] == "ok"
        ref = f"127.0.0.1:{port}/team/in-container:1"
        image_id, digest = push_local_image(docker, workdir, ref)
        docker("pull", ref, timeout=600)
        assert docker.image_id(ref) == image_id
        assert f"127.0.0.1:{port}/team/in-container@{digest}" in docker.repo_digests(ref)
        docker.rmi(ref)
        # The bytes and the database are on the volume, as `-v /opt/data/registry:/var/lib/registry` promises.
        assert list((volume / "storage" / "blobs" / "sha256").iterdir())
        assert (volume / "db" / "berth.sqlite3").exists()
        # The background worker runs next to gunicorn (deploy/entrypoint.sh).
        logs = docker("logs", container, check=False)
        assert "(database backend) started" in logs.stdout + logs.stderr
    finally:
        docker("rm", "--force", container, check=False)


def test_the_original_registrys_tmp_registry_mount_keeps_the_data(docker, berth_image, workdir):
    """`docker run -v /opt/data/registry:/tmp/registry registry`, as the original documented, then a new container."""
    volume = workdir / "tmp-registry-volume"
    volume.mkdir()
    port = free_port()
    ref = f"127.0.0.1:{port}/team/tmp-registry:1"
    first = run_container(docker, berth_image, port, "-v", f"{volume}:/tmp/registry")
    try:
        image_id, digest = push_local_image(docker, workdir, ref)
        # `docker exec CONTAINER berth` (as the first-run hint says) sees the same database
        names = (
            docker(
                "exec",
                first,
                "berth",
                "shell",
                "-c",
                "from images.models import Repository; print(*Repository.objects.values_list('name', flat=True))",
            )
            .stdout.strip()
            .splitlines()[-1]
        )  # after Django's line about the shell's automatic imports
        assert names.split() == ["team/tmp-registry"]
    finally:
        docker("rm", "--force", first, check=False)
    assert (volume / "db" / "berth.sqlite3").exists() and list((volume / "storage" / "blobs" / "sha256").iterdir())
    second = run_container(docker, berth_image, port, "-v", f"{volume}:/tmp/registry")  # the first one is gone
    try:
        docker("pull", ref, timeout=600)
        assert docker.image_id(ref) == image_id
        assert f"127.0.0.1:{port}/team/tmp-registry@{digest}" in docker.repo_digests(ref)
        docker.rmi(ref)
    finally:
        docker("rm", "--force", second, check=False)
