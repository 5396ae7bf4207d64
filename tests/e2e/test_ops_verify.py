"""verify_blobs on a registry the real docker pushed to: a corrupted layer file is caught (exit status 1),
quarantined, and the next docker push heals it."""

import uuid

import pytest
import requests

from tests.e2e.ops_helpers import DOCKER_MANIFEST, blob_file, build_image, manage, start_open_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(e2e_tmp):
    berth = start_open_server(e2e_tmp / "ops-verify")
    yield berth
    berth.stop()


def test_a_corrupted_blob_is_caught_quarantined_and_healed_by_a_push(docker, server, workdir):
    suffix = uuid.uuid4().hex[:8]
    local = f"e2e-local/fsck-{suffix}:1"
    image_id, _ = build_image(docker, workdir, local, f"fsck-{suffix}")
    ref = f"{server.host}/team/fsck:{suffix}"
    docker("tag", local, ref)
    docker("push", ref, timeout=600)
    assert "0 missing, 0 corrupt" in manage(server, "verify_blobs").stdout

    manifest = requests.get(
        f"{server.url}/v2/team/fsck/manifests/{suffix}", headers={"Accept": DOCKER_MANIFEST}, timeout=30
    ).json()
    layer = max(manifest["layers"], key=lambda d: d["size"])["digest"]
    path = blob_file(server, layer)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    found = manage(server, "verify_blobs", check=False)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"CORRUPT {layer}" in found.stdout and "(in team/fsck)" in found.stdout
    assert "0 missing, 1 corrupt" in found.stdout

    sampled = manage(server, "verify_blobs", "--sample", "1", "--seed", "3", check=False)
    assert "verified 1 of" in sampled.stdout

    quarantined = manage(server, "verify_blobs", "--quarantine", check=False)
    assert quarantined.returncode == 1 and "quarantined to quarantine/sha256/" in quarantined.stdout
    assert (server.storage / "quarantine" / "sha256" / layer.split(":")[1]).is_file()
    assert requests.head(f"{server.url}/v2/team/fsck/blobs/{layer}", timeout=30).status_code == 404

    docker("push", ref, timeout=600)  # docker finds the layer absent and uploads it again
    assert "0 missing, 0 corrupt" in manage(server, "verify_blobs").stdout
    docker.rmi(ref, local)
    docker("pull", ref, timeout=600)
    assert docker.image_id(ref) == image_id
    docker.rmi(ref)
