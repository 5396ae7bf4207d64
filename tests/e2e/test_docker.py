"""docker push / pull against Berth, under gunicorn and under runserver.

docker always uploads layers with `Transfer-Encoding: chunked`; gunicorn
de-chunks them, Berth's runserver must do it itself.
"""

import hashlib
import tarfile
import uuid

import pytest
import requests

from tests.e2e.builders import write_rootfs_tar
from tests.e2e.servers import peak_rss_kib

pytestmark = pytest.mark.e2e


def import_image(docker, workdir, label, ref, big_file_size=0):
    rootfs = write_rootfs_tar(workdir / f"{label}.tar", label, big_file_size=big_file_size)
    image_id = docker("import", rootfs["path"], ref).stdout.strip().splitlines()[-1]
    rootfs["path"].unlink()
    assert image_id.startswith("sha256:"), image_id
    return image_id, rootfs["files"]


def push(docker, ref):
    result = docker("push", ref, timeout=600)
    return docker.pushed_digest(ref, result.stdout)


def test_docker_push_pull_roundtrip(docker, berth_server, workdir):
    """Two images (different layers) pushed, removed, pulled back by tag and by digest."""
    repo = f"{berth_server.host}/team/app"
    suffix = uuid.uuid4().hex[:8]
    first_id, _ = import_image(docker, workdir, f"first-{suffix}", f"e2e-local/app-{suffix}:1")
    second_id, _ = import_image(docker, workdir, f"second-{suffix}", f"e2e-local/app-{suffix}:2")
    assert first_id != second_id
    tag1, tag2 = f"{repo}:{suffix}-1", f"{repo}:{suffix}-2"
    docker("tag", f"e2e-local/app-{suffix}:1", tag1)
    docker("tag", f"e2e-local/app-{suffix}:2", tag2)

    digest1 = push(docker, tag1)
    digest2 = push(docker, tag2)
    assert digest1 != digest2

    # The registry serves what docker pushed, under the tag and under the digest.
    for tag, digest in ((f"{suffix}-1", digest1), (f"{suffix}-2", digest2)):
        head = requests.head(
            f"{berth_server.url}/v2/team/app/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=30,
        )
        assert head.status_code == 200, head.text
        assert head.headers["Docker-Content-Digest"] == digest
    tags = requests.get(f"{berth_server.url}/v2/team/app/tags/list", timeout=30).json()
    assert {f"{suffix}-1", f"{suffix}-2"} <= set(tags["tags"])

    docker.rmi(tag1, tag2, f"e2e-local/app-{suffix}:1", f"e2e-local/app-{suffix}:2")
    assert not docker.has_image(first_id)
    assert not docker.has_image(second_id)

    docker("pull", tag1, timeout=600)
    assert docker.image_id(tag1) == first_id
    assert f"{repo}@{digest1}" in docker.repo_digests(tag1)

    # By digest, after removing the first image again; and the second image by tag.
    docker.rmi(tag1)
    docker("pull", f"{repo}@{digest1}", timeout=600)
    assert docker.image_id(f"{repo}@{digest1}") == first_id
    docker("pull", tag2, timeout=600)
    assert docker.image_id(tag2) == second_id
    assert f"{repo}@{digest2}" in docker.repo_digests(tag2)
    docker.rmi(f"{repo}@{digest1}", tag2)


def stream_sha256(fh) -> str:
    h = hashlib.sha256()
    while block := fh.read(1 << 20):
        h.update(block)
    return "sha256:" + h.hexdigest()


def _file_in_saved_image(archive, wanted: str) -> str:
    """sha256 of `wanted` inside any layer of a `docker save` archive."""
    with tarfile.open(archive) as outer:
        for member in outer:
            if not member.isfile() or not member.name.endswith(".tar"):
                continue
            with tarfile.open(fileobj=outer.extractfile(member)) as layer:
                for entry in layer:
                    if entry.name.lstrip("./") == wanted:
                        return stream_sha256(layer.extractfile(entry))
    raise AssertionError(f"{wanted} not found in any layer of {archive}")


def test_docker_large_layer_streams(docker, berth_gunicorn, workdir):
    """A 64 MiB random layer goes up and comes back intact, and the workers' memory does not grow by its size."""
    berth = berth_gunicorn
    size = 64 << 20
    suffix = uuid.uuid4().hex[:8]
    local = f"e2e-local/big-{suffix}:1"
    ref = f"{berth.host}/team/big:{suffix}"
    image_id, files = import_image(docker, workdir, f"big-{suffix}", local, big_file_size=size)
    docker("tag", local, ref)
    # Warm the workers up (imports, DB connections) before taking the memory baseline.
    for _ in range(8):
        requests.get(f"{berth.url}/v2/team/big/tags/list", timeout=30)
    baseline = {pid: peak_rss_kib(pid) for pid in berth.worker_pids()}
    assert baseline, "no gunicorn workers found"

    digest = push(docker, ref)

    manifest = requests.get(
        f"{berth.url}/v2/team/big/manifests/{digest}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=30,
    ).json()
    layer = manifest["layers"][0]
    assert layer["size"] > size  # random bytes don't compress
    head = requests.head(f"{berth.url}/v2/team/big/blobs/{layer['digest']}", timeout=30)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == layer["size"]
    assert head.headers["Docker-Content-Digest"] == layer["digest"]
    part = requests.get(
        f"{berth.url}/v2/team/big/blobs/{layer['digest']}", headers={"Range": "bytes=1024-2047"}, timeout=30
    )
    assert part.status_code == 206, part.text
    assert len(part.content) == 1024
    assert part.headers["Content-Range"] == f"bytes 1024-2047/{layer['size']}"

    docker.rmi(ref, local)
    assert not docker.has_image(image_id)
    docker("pull", ref, timeout=600)
    assert docker.image_id(ref) == image_id
    assert f"{berth.host}/team/big@{digest}" in docker.repo_digests(ref)

    grown = {pid: peak_rss_kib(pid) - kib for pid, kib in baseline.items() if pid in berth.worker_pids()}
    print(f"gunicorn workers: peak RSS before {baseline} KiB, growth during push+pull {grown} KiB")
    assert grown, "the gunicorn workers were replaced during the transfer"
    assert max(grown.values()) < 32 * 1024, f"worker peak RSS grew by {grown} KiB for a {size >> 20} MiB layer"

    archive = workdir / "saved.tar"
    docker("save", "-o", archive, ref, timeout=600)
    docker.rmi(ref)
    assert _file_in_saved_image(archive, "opt/big.bin") == files["opt/big.bin"]
