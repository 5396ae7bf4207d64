"""podman push / pull against Berth under gunicorn (OCI manifests, private vfs storage)."""

import uuid

import pytest

from tests.e2e.builders import write_rootfs_tar

pytestmark = pytest.mark.e2e


def test_podman_push_pull_roundtrip(podman, berth, workdir):
    suffix = uuid.uuid4().hex[:8]
    rootfs = write_rootfs_tar(workdir / "rootfs.tar", f"podman-{suffix}")
    local = f"localhost/e2e/pod-{suffix}:1"
    podman("import", rootfs["path"], local)
    image_id = podman.inspect(local)["Id"]

    ref = f"{berth.host}/team/podapp:{suffix}"
    digestfile = workdir / "digest"
    podman("push", "--tls-verify=false", f"--digestfile={digestfile}", local, f"docker://{ref}", timeout=600)
    digest = digestfile.read_text().strip()
    assert digest.startswith("sha256:")

    podman("rmi", "--force", local)
    assert podman("image", "exists", image_id, check=False).returncode != 0

    podman("pull", "--tls-verify=false", ref, timeout=600)
    pulled = podman.inspect(ref)
    assert pulled["Id"] == image_id
    assert pulled["Digest"] == digest
    assert f"{berth.host}/team/podapp@{digest}" in pulled["RepoDigests"]

    # And by digest, from a clean store.
    podman("rmi", "--force", ref)
    podman("pull", "--tls-verify=false", f"{berth.host}/team/podapp@{digest}", timeout=600)
    assert podman.inspect(f"{berth.host}/team/podapp@{digest}")["Id"] == image_id
    podman("rmi", "--force", image_id)
