"""import_image of a tarball the real docker engine wrote with `docker save`; export_image loaded back by
`docker load`; an OCI layout export read by skopeo."""

import hashlib
import json
import uuid

import pytest

from tests.e2e.builders import OCILayout
from tests.e2e.clients import skopeo
from tests.e2e.ops_helpers import build_image, image_files, manage, start_open_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(e2e_tmp):
    berth = start_open_server(e2e_tmp / "ops-archives")
    yield berth
    berth.stop()


def test_import_a_docker_save_tarball_then_docker_pulls_it(docker, server, workdir):
    suffix = uuid.uuid4().hex[:8]
    local = f"e2e-local/saved-{suffix}:1"
    image_id, files = build_image(docker, workdir, local, f"saved-{suffix}")
    docker("save", "-o", str(workdir / "saved.tar"), local)

    out = manage(server, "import_image", workdir / "saved.tar", f"team/saved:{suffix}").stdout
    assert f"imported team/saved:{suffix} sha256:" in out

    ref = f"{server.host}/team/saved:{suffix}"
    docker.rmi(local)
    docker("pull", ref, timeout=600)
    assert docker.image_id(ref) == image_id  # the very same config, so the same image id
    assert image_files(docker, workdir, ref, list(files)) == files
    docker.rmi(ref)


def test_batch_import_uses_the_saved_names(docker, server, workdir):
    suffix = uuid.uuid4().hex[:8]
    one, two = f"e2e-local/batch-{suffix}:one", f"e2e-local/batch-{suffix}:two"
    build_image(docker, workdir, one, f"one-{suffix}")
    build_image(docker, workdir, two, f"two-{suffix}")
    folder = workdir / "saved"
    folder.mkdir()
    docker("save", "-o", str(folder / "one.tar"), one)
    docker("save", "-o", str(folder / "two.tar"), two)
    out = manage(server, "import_images", folder, "--namespace", "mirror").stdout
    assert "imported 2 image(s) from 2 archive(s), 0 failed" in out
    for ref, local in ((f"mirror/e2e-local/batch-{suffix}:one", one), (f"mirror/e2e-local/batch-{suffix}:two", two)):
        image_id = docker.image_id(local)
        docker.rmi(local)
        docker("pull", f"{server.host}/{ref}", timeout=600)
        assert docker.image_id(f"{server.host}/{ref}") == image_id
        docker.rmi(f"{server.host}/{ref}")


def test_export_is_loaded_back_by_docker_load(docker, server, workdir):
    suffix = uuid.uuid4().hex[:8]
    local = f"e2e-local/export-{suffix}:1"
    image_id, files = build_image(docker, workdir, local, f"export-{suffix}")
    pushed = f"{server.host}/team/exported:{suffix}"
    docker("tag", local, pushed)
    docker("push", pushed, timeout=600)
    docker.rmi(local, pushed)
    assert not docker.has_image(image_id)

    out = manage(server, "export_image", f"team/exported:{suffix}", workdir / "exported.tar").stdout
    assert "docker-archive" in out
    loaded = docker("load", "-i", str(workdir / "exported.tar")).stdout
    assert f"team/exported:{suffix}" in loaded
    assert docker.image_id(f"team/exported:{suffix}") == image_id
    assert image_files(docker, workdir, f"team/exported:{suffix}", list(files)) == files
    docker.rmi(f"team/exported:{suffix}")

    # An OCI layout keeps the manifest byte for byte, and imports again as the same image.
    layout = workdir / "layout"
    manage(server, "export_image", f"team/exported:{suffix}", f"{layout}/")
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == suffix
    manage(server, "import_image", layout, f"team/reimported:{suffix}")
    docker("pull", f"{server.host}/team/reimported:{suffix}", timeout=600)
    assert docker.image_id(f"{server.host}/team/reimported:{suffix}") == image_id
    docker.rmi(f"{server.host}/team/reimported:{suffix}")


def test_oci_layout_export_is_read_by_skopeo(server, workdir):
    layout = OCILayout(workdir / "src")
    built = layout.index("skopeo-src")
    layout.tag(built, "src")
    skopeo(
        "copy", "--all", "--dest-tls-verify=false", f"oci:{workdir / 'src'}:src", f"docker://{server.host}/team/oci:1"
    )
    manage(server, "export_image", "team/oci:1", workdir / "out", "--format", "oci")
    raw = skopeo("inspect", "--raw", f"oci:{workdir / 'out'}:1").stdout
    assert json.loads(raw)["manifests"] and "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == built.digest
    archive = workdir / "out.tar"
    manage(server, "export_image", "team/oci:1", archive, "--format", "oci-archive")
    copied = skopeo("inspect", "--raw", f"oci-archive:{archive}:1").stdout
    assert copied == raw
