"""A Docker 1.x push and pull over real HTTP (V1_PROTOCOL.md §7), then the same image over v2."""

import gzip
import hashlib
import json

import pytest

from tests.v1.conftest import DOCKER_SCHEMA2, make_chain, sha256
from tests.v1.docker1 import Docker1

LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"


def test_docker1_push_then_pull_then_v2_pull(live_registry_url, http):
    images = make_chain()
    base, mid, top = images
    docker = Docker1(http, live_registry_url)

    assert docker.push("berthtest/app", images) == [base.id, mid.id, top.id]

    # Pull it back the way Docker 1.4 does.
    ancestry, pulled = docker.pull("berthtest/app")
    assert ancestry == [top.id, mid.id, base.id]
    for image in images:
        image_json, layer, size = pulled[image.id]
        assert image_json == image.json  # the exact bytes, they are part of the checksum
        assert layer == image.layer and size == len(image.layer)

    # Resume a broken download: Range bytes=<done>-<X-Docker-Size> must give 206 and the exact rest.
    url = f"{live_registry_url}/v1/images/{mid.id}/layer"
    done, size = 1_000_003, len(mid.layer)
    response = http.get(url, headers={"Range": f"bytes={done}-{size}"})
    assert response.status_code == 206
    assert response.content == mid.layer[done:]
    assert response.headers["Content-Range"] == f"bytes {done}-{size - 1}/{size}"
    assert int(response.headers["Content-Length"]) == size - done
    response = http.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206 and response.content == mid.layer[10:20]
    response = http.get(url, headers={"Range": f"bytes={size}-{size}"})
    assert response.status_code == 416 and response.content == b""

    # The same image over v2, as today's docker pull fetches it.
    manifest_url = f"{live_registry_url}/v2/berthtest/app/manifests/latest"
    response = http.get(manifest_url, headers={"Accept": DOCKER_SCHEMA2})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == DOCKER_SCHEMA2
    digest = response.headers["Docker-Content-Digest"]
    assert digest == sha256(response.content)
    manifest = response.json()
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == DOCKER_SCHEMA2
    assert manifest["layers"] == [
        {"mediaType": LAYER_TYPE, "digest": sha256(i.layer), "size": len(i.layer)} for i in images
    ]
    assert manifest["config"]["mediaType"] == CONFIG_TYPE
    for layer, image in zip(manifest["layers"], images, strict=True):
        response = http.get(f"{live_registry_url}/v2/berthtest/app/blobs/{layer['digest']}")
        assert response.status_code == 200 and response.content == image.layer
        assert sha256(gzip.decompress(response.content)) == image.diff_id
    response = http.get(f"{live_registry_url}/v2/berthtest/app/blobs/{manifest['config']['digest']}")
    assert response.status_code == 200
    assert sha256(response.content) == manifest["config"]["digest"]
    assert len(response.content) == manifest["config"]["size"]
    config = response.json()
    assert config["rootfs"] == {"type": "layers", "diff_ids": [i.diff_id for i in images]}
    assert [h["created_by"] for h in config["history"]] == [i.created_by for i in images]
    assert [h["created"] for h in config["history"]] == [i.created for i in images]
    assert config["history"][1]["author"] == "Berth Tests <tests@berth.invalid>"
    assert not any(h.get("empty_layer") for h in config["history"])
    top_json = json.loads(top.json)
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"] == top_json["config"]
    assert config["container_config"] == top_json["container_config"]
    assert config["created"] == top.created and config["docker_version"] == "1.4.1"
    assert not {"id", "parent", "Size", "checksum"} & set(config)

    # Docker shows the config digest as the image id; the v1 API keeps the v1 id for this tag.
    assert http.get(f"{live_registry_url}/v1/repositories/berthtest/app/tags").json() == {"latest": top.id}

    # Re-tagging gives the same manifest, byte for byte.
    response = http.put(f"{live_registry_url}/v1/repositories/berthtest/app/tags/stable", data=json.dumps(top.id))
    assert response.status_code == 200
    response = http.head(f"{live_registry_url}/v2/berthtest/app/manifests/stable", headers={"Accept": DOCKER_SCHEMA2})
    assert response.status_code == 200 and response.headers["Docker-Content-Digest"] == digest
    response = http.put(f"{live_registry_url}/v1/repositories/other/copy/tags/v1", data=json.dumps(top.id))
    assert response.status_code == 200
    response = http.get(f"{live_registry_url}/v2/other/copy/manifests/v1", headers={"Accept": DOCKER_SCHEMA2})
    assert response.headers["Docker-Content-Digest"] == digest
    # A tag on the middle image is an image of two layers.
    http.put(f"{live_registry_url}/v1/repositories/berthtest/app/tags/mid", data=json.dumps(mid.id))
    response = http.get(f"{live_registry_url}/v2/berthtest/app/manifests/mid", headers={"Accept": DOCKER_SCHEMA2})
    assert [layer["digest"] for layer in response.json()["layers"]] == [sha256(base.layer), sha256(mid.layer)]
    tags = http.get(f"{live_registry_url}/v2/berthtest/app/tags/list").json()["tags"]
    assert tags == ["latest", "mid", "stable"]

    # Pushing it again: Docker's existence probe says 200, so nothing is uploaded again.
    assert docker.push("berthtest/app", images) == []
    # Another repository sharing the images: PUT json answers 409 "Image already exists" when probed late.
    response = http.put(f"{live_registry_url}/v1/images/{base.id}/json", data=base.json)
    assert response.status_code == 409 and response.json() == {"error": "Image already exists"}


def test_one_component_names_are_library(live_registry_url, http):
    images = make_chain("library")
    docker = Docker1(http, live_registry_url)
    docker.push("busybox", images)
    # Docker pulls `busybox` with GET /v1/repositories/busybox/images and .../library/busybox/tags.
    ancestry, _ = docker.pull("busybox")
    assert ancestry[0] == images[-1].id
    for path in ("busybox", "library/busybox"):
        assert http.get(f"{live_registry_url}/v1/repositories/{path}/tags").json() == {"latest": images[-1].id}
        assert http.get(f"{live_registry_url}/v1/repositories/{path}/tags/latest").json() == images[-1].id
        response = http.get(f"{live_registry_url}/v1/repositories/{path}/images")
        assert {e["id"] for e in response.json()} == {i.id for i in images}
        assert 'repository="library/busybox"' in response.headers["X-Docker-Token"]
    search = http.get(f"{live_registry_url}/v1/search", params={"q": "busybox"}).json()
    assert [r["name"] for r in search["results"]] == ["library/busybox"]
    response = http.get(f"{live_registry_url}/v2/library/busybox/manifests/latest", headers={"Accept": DOCKER_SCHEMA2})
    assert response.status_code == 200
    # Deleting `busybox` deletes `library/busybox`.
    assert http.delete(f"{live_registry_url}/v1/repositories/busybox/").json() is True
    assert http.get(f"{live_registry_url}/v1/repositories/library/busybox/tags").status_code == 404


def test_v2_pushed_repository_shows_over_v1(live_registry_url, http):
    """docker push over v2, then the v1 tag list and search (docker search still calls /v1/search)."""
    layer = gzip.compress(b"layer tar bytes", mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    for blob in (layer, config):
        response = http.post(f"{live_registry_url}/v2/team/api/blobs/uploads/?digest={sha256(blob)}", data=blob)
        assert response.status_code == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_SCHEMA2,
            "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": LAYER_TYPE, "digest": sha256(layer), "size": len(layer)}],
        }
    ).encode()
    response = http.put(
        f"{live_registry_url}/v2/team/api/manifests/1.0", data=manifest, headers={"Content-Type": DOCKER_SCHEMA2}
    )
    assert response.status_code == 201
    config_hex = hashlib.sha256(config).hexdigest()

    assert http.get(f"{live_registry_url}/v1/repositories/team/api/tags").json() == {"1.0": config_hex}
    assert http.get(f"{live_registry_url}/v1/repositories/team/api/tags/1.0").json() == config_hex
    found = http.get(f"{live_registry_url}/v1/search", params={"q": "api", "n": "25"}).json()
    assert found["num_results"] == 1
    assert found["results"][0]["name"] == "team/api"
    metadata = http.get(f"{live_registry_url}/v1/repositories/team/api/tags/1.0/json").json()
    assert isinstance(metadata["last_update"], int) and metadata["arch"] == "amd64"

    # A v1 push over the v2 tag makes it a v1 tag; a v2 push over it makes it a v2 tag again.
    images = make_chain("retag")
    Docker1(http, live_registry_url).push("team/api", images, tag="1.0")
    assert http.get(f"{live_registry_url}/v1/repositories/team/api/tags/1.0").json() == images[-1].id
    response = http.put(
        f"{live_registry_url}/v2/team/api/manifests/1.0", data=manifest, headers={"Content-Type": DOCKER_SCHEMA2}
    )
    assert response.status_code == 201
    assert http.get(f"{live_registry_url}/v1/repositories/team/api/tags/1.0").json() == config_hex


@pytest.mark.parametrize("name", ["one", "library/one"])
def test_v2_pushed_bare_name_is_found_by_v1(live_registry_url, http, name):
    """`docker push HOST/one` over v2 stores `library/one`; v1's `one` / `library/one` find it."""
    layer = b"plain"
    config = b'{"architecture":"amd64","os":"linux"}'
    for blob in (layer, config):
        http.post(f"{live_registry_url}/v2/one/blobs/uploads/?digest={sha256(blob)}", data=blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_SCHEMA2,
            "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": LAYER_TYPE, "digest": sha256(layer), "size": len(layer)}],
        }
    )
    http.put(f"{live_registry_url}/v2/one/manifests/latest", data=manifest, headers={"Content-Type": DOCKER_SCHEMA2})
    response = http.get(f"{live_registry_url}/v1/repositories/{name}/tags")
    assert response.json() == {"latest": hashlib.sha256(config).hexdigest()}
    # And a v1 push of `one` lands in that same repository, so docker pull HOST/one over v2 sees it.
    images = make_chain("bare")
    Docker1(http, live_registry_url).push(name, images, tag="v1")
    response = http.get(f"{live_registry_url}/v2/one/manifests/v1", headers={"Accept": DOCKER_SCHEMA2})
    assert response.status_code == 200
    assert http.get(f"{live_registry_url}/v2/library/one/tags/list").json() == {
        "name": "library/one",
        "tags": ["latest", "v1"],
    }
