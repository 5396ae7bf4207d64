"""skopeo against Berth under gunicorn: OCI layouts in and out, inspect, list-tags, delete, multi-arch."""

import json
import uuid

import pytest

from tests.e2e.builders import OCI_INDEX, OCI_MANIFEST, OCILayout, read_layout_blob, read_layout_ref
from tests.e2e.clients import run, skopeo
from tests.e2e.registry_api import blob_exists, get_manifest

pytestmark = pytest.mark.e2e

NO_TLS = "--tls-verify=false"


def test_skopeo_copy_inspect_list_tags_delete(berth_gunicorn, workdir):
    berth = berth_gunicorn
    layout = OCILayout(workdir / "layout")
    image = layout.image("skopeo-single")
    layout.tag(image, "v1")
    repo = f"{berth.host}/team/skopeo-{uuid.uuid4().hex[:8]}"

    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:v1", f"docker://{repo}:v1")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:v1", f"docker://{repo}:v2")

    info = json.loads(skopeo("inspect", NO_TLS, f"docker://{repo}:v1").stdout)
    assert info["Digest"] == image.digest  # an OCI manifest is stored byte for byte
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Labels"] == {"berth.e2e": "skopeo-single"}
    assert sorted(info["RepoTags"]) == ["v1", "v2"]
    assert info["Layers"] == [layer["digest"] for layer in json.loads(layout.blobs[image.digest])["layers"]]

    tags = json.loads(skopeo("list-tags", NO_TLS, f"docker://{repo}").stdout)
    assert tags["Repository"] == repo
    assert sorted(tags["Tags"]) == ["v1", "v2"]

    # skopeo deletes by digest: the manifest and both tags that named it are gone.
    skopeo("delete", NO_TLS, f"docker://{repo}:v1")
    gone = skopeo("inspect", NO_TLS, f"docker://{repo}:v1", check=False)
    assert gone.returncode != 0
    assert "manifest unknown" in gone.stderr.lower(), gone.stderr
    name = repo.split("/", 1)[1]
    assert get_manifest(berth.url, name, image.digest, OCI_MANIFEST).status_code == 404
    assert get_manifest(berth.url, name, "v2", OCI_MANIFEST).status_code == 404


def test_skopeo_copy_all_multi_platform_index(berth_gunicorn, workdir):
    berth = berth_gunicorn
    layout = OCILayout(workdir / "multi")
    index = layout.index("skopeo-multi")
    layout.tag(index, "1")
    name = f"team/multi-{uuid.uuid4().hex[:8]}"
    repo = f"{berth.host}/{name}"

    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{layout.root}:1", f"docker://{repo}:1")

    # The index, byte for byte, under the tag and under its digest.
    for reference in ("1", index.digest):
        response = get_manifest(berth.url, name, reference, f"{OCI_INDEX}, {OCI_MANIFEST}")
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == OCI_INDEX
        assert response.headers["Docker-Content-Digest"] == index.digest
        assert response.content == layout.blobs[index.digest]
    platforms = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in json.loads(layout.blobs[index.digest])["manifests"]
    }
    assert platforms == index.children
    assert set(platforms) == {"linux/amd64", "linux/arm64"}

    # Both children with their config and layer blobs.
    for digest in index.children.values():
        response = get_manifest(berth.url, name, digest, OCI_MANIFEST)
        assert response.status_code == 200, response.text
        assert response.headers["Docker-Content-Digest"] == digest
        assert response.content == layout.blobs[digest]
        child = response.json()
        for descriptor in [child["config"], *child["layers"]]:
            assert blob_exists(berth.url, name, descriptor["digest"]), descriptor

    # A client that only understands single images gets the linux/amd64 child.
    response = get_manifest(berth.url, name, "1", OCI_MANIFEST)
    assert response.status_code == 200
    assert response.headers["Docker-Content-Digest"] == index.children["linux/amd64"]

    # And back into a new OCI layout: identical digests all the way down.
    out = workdir / "copied-back"
    skopeo("copy", "--all", "--src-tls-verify=false", f"docker://{repo}:1", f"oci:{out}:1")
    assert run(["umoci", "ls", "--layout", out]).stdout.split() == ["1"]  # a valid layout for another tool too
    top = read_layout_ref(out, "1")
    assert top["digest"] == index.digest
    assert top["mediaType"] == OCI_INDEX
    copied_index = read_layout_blob(out, index.digest)
    assert copied_index == layout.blobs[index.digest]
    for digest in index.children.values():
        assert read_layout_blob(out, digest) == layout.blobs[digest]
        for descriptor in [json.loads(layout.blobs[digest])["config"], *json.loads(layout.blobs[digest])["layers"]]:
            assert read_layout_blob(out, descriptor["digest"]) == layout.blobs[descriptor["digest"]]
