"""Pushes into a proxy namespace or a cached repository are DENIED naming the upstream; others work."""

import hashlib
import json

import pytest

from proxy import routing, services, store

pytestmark = pytest.mark.django_db

DATA = b"layer bytes"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
CONFIG = b"{}"
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": CONFIG_DIGEST, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": DIGEST, "size": len(DATA)}],
    }
).encode()
OCI = "application/vnd.oci.image.manifest.v1+json"


def _denied(response, upstream):
    assert response.status_code == 403, response.content
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED"
    assert upstream in error["message"]


def test_push_into_a_proxy_namespace_is_denied_naming_the_upstream(client):
    services.save("ghcr", "https://ghcr.example.test")
    _denied(client.post("/v2/ghcr/org/img/blobs/uploads/"), "https://ghcr.example.test")
    _denied(client.put("/v2/ghcr/org/img/manifests/1", MANIFEST, content_type=OCI), "https://ghcr.example.test")
    _denied(
        client.post(f"/v2/ghcr/org/img/blobs/uploads/?digest={DIGEST}", DATA, content_type="application/octet-stream"),
        "https://ghcr.example.test",
    )


def test_push_into_a_cached_repository_of_the_mirror_is_denied(client):
    mirror = services.save("", "https://mirror.example.test")
    store.cached_repository(routing.Route(mirror, "library/alpine", "library/alpine"))
    _denied(client.post("/v2/library/alpine/blobs/uploads/"), "https://mirror.example.test")
    _denied(client.put("/v2/alpine/manifests/mine", MANIFEST, content_type=OCI), "https://mirror.example.test")


def test_an_upload_started_before_the_proxy_is_refused_at_its_commit(client):
    started = client.post("/v2/corp/app/blobs/uploads/")
    assert started.status_code == 202
    services.save("corp", "https://corp.example.test")
    location = started["Location"]
    _denied(client.put(f"{location}?digest={DIGEST}", DATA, content_type="application/octet-stream"), "corp.example")


def test_pushes_elsewhere_keep_working_with_a_mirror_and_proxies(client):
    services.save("", "https://mirror.example.test")
    services.save("ghcr", "https://ghcr.example.test")
    for data, digest in ((DATA, DIGEST), (CONFIG, CONFIG_DIGEST)):
        response = client.post(
            f"/v2/team/app/blobs/uploads/?digest={digest}", data, content_type="application/octet-stream"
        )
        assert response.status_code == 201, response.content
    assert client.put("/v2/team/app/manifests/1", MANIFEST, content_type=OCI).status_code == 201
    got = client.get("/v2/team/app/manifests/1")  # a pushed repository is served locally, never upstream
    assert got.status_code == 200 and got.content == MANIFEST
