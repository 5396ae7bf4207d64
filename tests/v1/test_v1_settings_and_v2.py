"""The original's `issue` / `standalone` settings, the catalog at GET / for browsers, v2 indexes over v1."""

import hashlib
import json

import pytest

from tests.support.registry import sha256

pytestmark = pytest.mark.django_db

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def with_registry(settings, **values):
    settings.REGISTRY = {**getattr(settings, "REGISTRY", {}), **values}


def test_issue_setting(client, settings):
    with_registry(settings, ISSUE='"my private registry"')
    assert client.get("/", HTTP_ACCEPT="application/json").json() == "my private registry"
    with_registry(settings, ISSUE="plain words")
    assert client.get("/", HTTP_ACCEPT="application/json").json() == "plain words"


def test_not_standalone_has_no_index(client, settings):
    with_registry(settings, STANDALONE=False)
    assert client.get("/v1/_ping")["X-Docker-Registry-Standalone"] == "False"
    for response in (
        client.get("/v1/users/"),
        client.put("/v1/repositories/team/app/", b"[]", content_type="application/json"),
        client.get("/v1/repositories/team/app/images"),
    ):
        assert response.status_code == 404 and "error" in response.json()
    # the registry endpoints stay
    assert client.get("/v1/repositories/team/app/tags").json() == {"error": "Repository not found"}


def test_browsers_get_the_catalog_at_root(client):
    for accept in ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html, application/json"):
        response = client.get("/", HTTP_ACCEPT=accept)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json" and "Berth" in response.json()


def _push_blob(client, repository, data):
    response = client.post(
        f"/v2/{repository}/blobs/uploads/?digest={sha256(data)}", data, content_type="application/octet-stream"
    )
    assert response.status_code == 201


def _push_manifest(client, repository, reference, body, media_type):
    data = json.dumps(body).encode()
    response = client.put(f"/v2/{repository}/manifests/{reference}", data, content_type=media_type)
    assert response.status_code == 201, response.content
    return data


def _image(client, repository, architecture):
    config = json.dumps({"architecture": architecture, "os": "linux"}).encode()
    layer = architecture.encode()
    for blob in (config, layer):
        _push_blob(client, repository, blob)
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer), "size": len(layer)}
        ],
    }
    return config, _push_manifest(client, repository, sha256(json.dumps(body).encode()), body, MANIFEST)


def test_v2_index_tags_show_the_linux_amd64_image_id(client, django_assert_max_num_queries):
    amd_config, amd = _image(client, "multi/arch", "amd64")
    _, arm = _image(client, "multi/arch", "arm64")
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": sha256(arm),
                "size": len(arm),
                "platform": {"architecture": "arm64", "os": "linux"},
            },
            {
                "mediaType": MANIFEST,
                "digest": sha256(amd),
                "size": len(amd),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
        ],
    }
    _push_manifest(client, "multi/arch", "latest", index, INDEX)
    arm_only = {**index, "manifests": index["manifests"][:1]}
    arm_index = _push_manifest(client, "multi/arch", "arm", arm_only, INDEX)
    with django_assert_max_num_queries(4):
        tags = client.get("/v1/repositories/multi/arch/tags").json()
    assert tags == {"latest": hashlib.sha256(amd_config).hexdigest(), "arm": hashlib.sha256(arm_index).hexdigest()}
