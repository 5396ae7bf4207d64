"""One store, two protocols, with the real Docker engine: v1 pushes pulled by today's docker, and docker search."""

import json
import tarfile

import requests

from tests.v1.conftest import DOCKER_UA, make_chain
from tests.v1.docker1 import Docker1


def v1_push(berth, repo, tag, seed):
    images = make_chain(seed)
    with requests.Session() as http:
        http.headers["User-Agent"] = DOCKER_UA
        Docker1(http, berth.url).push(repo, images, tag=tag)
    return images


def test_image_pushed_over_v1_is_pulled_by_docker(berth, docker):
    images = v1_push(berth, "legacy/app", "1.0", "e2e-pull")
    ref = f"{berth.host}/legacy/app:1.0"
    docker("pull", ref)
    try:
        info = json.loads(docker("image", "inspect", ref).stdout)[0]
        top = json.loads(images[-1].json)
        assert info["RootFS"]["Layers"] == [image.diff_id for image in images]
        assert info["Config"]["Cmd"] == top["config"]["Cmd"]
        assert info["Config"]["Env"] == top["config"]["Env"]
        assert info["Architecture"] == "amd64" and info["Os"] == "linux"
        assert info["Author"] == ""  # the top image has no author; the middle one does
        history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref).stdout.splitlines()
        assert history == [image.created_by for image in reversed(images)]
        pulled = info["RepoDigests"][0].split("@", 1)[1]
        manifest = requests.get(
            f"{berth.url}/v2/legacy/app/manifests/1.0",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=30,
        )
        assert manifest.headers["Docker-Content-Digest"] == pulled
    finally:
        docker.rmi(ref)
    # The digest is stable: pulling again by digest gives the same image.
    docker("pull", f"{berth.host}/legacy/app@{pulled}")
    docker.rmi(f"{berth.host}/legacy/app@{pulled}")


def test_docker_search_finds_v1_and_v2_pushes(berth, docker, tmp_path):
    v1_push(berth, "searchable/legacy-tool", "latest", "e2e-search")
    layer = tmp_path / "rootfs.tar"

    with tarfile.open(layer, "w") as tar:
        marker = tmp_path / "marker"
        marker.write_text("searchable v2 image\n")
        tar.add(marker, arcname="marker")
    docker("import", str(layer), "e2e-local/searchable:latest")
    v2_ref = f"{berth.host}/searchable/modern-tool:latest"
    docker("tag", "e2e-local/searchable:latest", v2_ref)
    docker("push", v2_ref)
    try:
        out = docker("search", "--no-trunc", "--format", "{{.Name}}", f"{berth.host}/searchable").stdout
        found = set(out.split())
        assert {"searchable/legacy-tool", "searchable/modern-tool"} <= found, out
        out = docker("search", "--format", "{{.Name}}", f"{berth.host}/modern-tool").stdout
        assert out.split()[0] == "searchable/modern-tool"
        out = docker("search", "--format", "{{.Name}}", f"{berth.host}/no-such-thing-anywhere").stdout
        assert out.strip() == ""
    finally:
        docker.rmi(v2_ref, "e2e-local/searchable:latest")
