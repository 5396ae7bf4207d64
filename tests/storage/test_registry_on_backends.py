"""The v2 API over every storage backend: chunked uploads across processes, ranged and redirected pulls."""

import json
import os

import pytest
import requests

from images import digests
from storage_backends import upload_staging

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


def push_in_chunks(client, repo, data, chunk, monkeypatch):
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202
    location = response["Location"]
    for start in range(0, len(data), chunk):
        monkeypatch.setattr(upload_staging, "_hashers", type(upload_staging._hashers)())  # next chunk: another process
        part = data[start : start + chunk]
        response = client.generic(
            "PATCH",
            location,
            part,
            content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"{start}-{start + len(part) - 1}",
        )
        assert response.status_code == 202, response.content
        assert response["Range"] == f"0-{start + len(part) - 1}"
        location = response["Location"]
    digest = digests.of_bytes(data)
    response = client.put(f"{location}?digest={digest}")
    assert response.status_code == 201, response.content
    return digest


def test_push_and_pull_an_image(backend, client, monkeypatch):
    layer = os.urandom(3 * MIB + 11)
    layer_digest = push_in_chunks(client, "team/app", layer, MIB, monkeypatch)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    config_digest = push_in_chunks(client, "team/app", config, 64, monkeypatch)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": len(layer)}
            ],
        }
    ).encode()
    response = client.put(
        "/v2/team/app/manifests/1", manifest, content_type="application/vnd.oci.image.manifest.v1+json"
    )
    assert response.status_code == 201, response.content

    response = client.get(f"/v2/team/app/blobs/{layer_digest}")
    assert response.status_code == 200
    assert int(response["Content-Length"]) == len(layer)
    assert b"".join(response.streaming_content) == layer
    response = client.get(f"/v2/team/app/blobs/{layer_digest}", HTTP_RANGE="bytes=1000-2999")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-2999/{len(layer)}"
    assert b"".join(response.streaming_content) == layer[1000:3000]
    response = client.get("/v2/team/app/manifests/1")
    assert response.content == manifest


def test_mount_and_dedup_keep_one_object(backend, client, monkeypatch):
    data = os.urandom(MIB)
    digest = push_in_chunks(client, "a/one", data, MIB, monkeypatch)
    response = client.post(f"/v2/b/two/blobs/uploads/?mount={digest}&from=a/one")
    assert response.status_code == 201
    again = push_in_chunks(client, "c/three", data, MIB // 2, monkeypatch)
    assert again == digest
    for repo in ("a/one", "b/two", "c/three"):
        assert b"".join(client.get(f"/v2/{repo}/blobs/{digest}").streaming_content) == data


def test_redirect_mode(backend, client, settings, monkeypatch):
    data = os.urandom(4096)
    digest = push_in_chunks(client, "team/redirect", data, 4096, monkeypatch)
    settings.REGISTRY = {**settings.REGISTRY, "STORAGE_REDIRECT": True}
    response = client.get(f"/v2/team/redirect/blobs/{digest}")
    if backend in ("filesystem", "swift"):  # no presigned URLs there: streamed as usual
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
        return
    assert response.status_code == 307
    assert response["Docker-Content-Digest"] == digest
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == data


def test_accel_redirect_hands_filesystem_blobs_to_nginx(backend, client, settings, monkeypatch):
    data = os.urandom(2048)
    digest = push_in_chunks(client, "team/accel", data, 2048, monkeypatch)
    settings.REGISTRY = {**settings.REGISTRY, "ACCEL_REDIRECT_PREFIX": "/_berth_storage/"}
    response = client.get(f"/v2/team/accel/blobs/{digest}")
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == digest
    if backend != "filesystem":  # nothing for nginx to alias: streamed as usual
        assert "X-Accel-Redirect" not in response
        assert b"".join(response.streaming_content) == data
        return
    internal = response["X-Accel-Redirect"]
    assert internal == f"/_berth_storage/blobs/sha256/{digest[7:9]}/{digest[7:]}"
    location = settings.STORAGES["registry"]["OPTIONS"]["location"]
    with open(os.path.join(location, internal.removeprefix("/_berth_storage/")), "rb") as fh:
        assert fh.read() == data
