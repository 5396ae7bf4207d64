"""Helpers for the v2 API tests, over HTTP the way registry clients talk.

Fixtures:
  registry       push blobs, images and indexes through the API (Django test client)
  assert_error   check a response carries the v2 error envelope with one code
  berth_server   Berth's own runserver (registry_site.server.devserver) on a free port, for chunked bodies
"""

import json
import socket
from dataclasses import dataclass, field

import pytest

from images import manifest_formats
from tests.support.registry import sha256

API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
CONFIG_TYPES = {
    manifest_formats.DOCKER_MANIFEST: "application/vnd.docker.container.image.v1+json",
    manifest_formats.OCI_MANIFEST: "application/vnd.oci.image.config.v1+json",
}
LAYER_TYPES = {
    manifest_formats.DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    manifest_formats.OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip",
}
CHILD_TYPE = {
    manifest_formats.DOCKER_LIST: manifest_formats.DOCKER_MANIFEST,
    manifest_formats.OCI_INDEX: manifest_formats.OCI_MANIFEST,
}
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux", "variant": "v8"}


def encode(body):
    """Pretty-printed on purpose: the registry must hand back these exact bytes, not a re-serialisation."""
    return json.dumps(body, indent=3).encode()


def descriptor(media_type, data, **extra):
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class Pushed:
    """A manifest the test pushed: what a client would remember about it."""

    repository: str
    data: bytes
    media_type: str
    blobs: list = field(default_factory=list)

    @property
    def digest(self):
        return sha256(self.data)

    @property
    def size(self):
        return len(self.data)

    def descriptor(self, **extra):
        return descriptor(self.media_type, self.data, **extra)


class Registry:
    def __init__(self, client):
        self.client = client

    def push_blob(self, repository, data):
        """Monolithic upload (POST ?digest=); returns the digest."""
        response = self.client.post(
            f"/v2/{repository}/blobs/uploads/?digest={sha256(data)}", data, content_type="application/octet-stream"
        )
        assert response.status_code == 201, response.content
        return sha256(data)

    def put_manifest(self, repository, reference, data, media_type, **headers):
        return self.client.put(f"/v2/{repository}/manifests/{reference}", data, content_type=media_type, **headers)

    def unpushed(self, repository, data, media_type):
        """Describe a manifest without pushing it (to reference something the registry lacks)."""
        return Pushed(repository, data, media_type)

    def push_manifest(self, repository, reference, data, media_type, blobs=()):
        response = self.put_manifest(repository, reference, data, media_type)
        assert response.status_code == 201, response.content
        assert response["Docker-Content-Digest"] == sha256(data)
        return Pushed(repository, data, media_type, list(blobs))

    def image_manifest(
        self,
        media_type=manifest_formats.OCI_MANIFEST,
        config=b'{"architecture":"amd64","os":"linux"}',
        layers=(b"layer",),
        **extra,
    ):
        body = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": descriptor(CONFIG_TYPES[media_type], config),
            "layers": [descriptor(LAYER_TYPES[media_type], layer) for layer in layers],
            **extra,
        }
        return encode(body)

    def push_image(
        self,
        repository,
        reference="latest",
        media_type=manifest_formats.OCI_MANIFEST,
        config=b'{"architecture":"amd64","os":"linux"}',
        layers=(b"layer",),
        **extra,
    ):
        blobs = [self.push_blob(repository, data) for data in (config, *layers)]
        data = self.image_manifest(media_type, config, layers, **extra)
        return self.push_manifest(repository, reference, data, media_type, blobs)

    def index_manifest(self, media_type, children, **extra):
        entries = [child.descriptor(**({"platform": platform} if platform else {})) for child, platform in children]
        return encode({"schemaVersion": 2, "mediaType": media_type, "manifests": entries, **extra})

    def push_index(
        self, repository, reference="latest", media_type=manifest_formats.OCI_INDEX, platforms=(AMD64, ARM64)
    ):
        """Push one child image per platform (pushed by digest, untagged), then the index."""
        child_type = CHILD_TYPE[media_type]
        children = []
        for platform in platforms:
            config = json.dumps(platform, sort_keys=True).encode()
            layer = f"layer for {platform['architecture']}".encode()
            for data in (config, layer):
                self.push_blob(repository, data)
            data = self.image_manifest(child_type, config, (layer,))
            children.append((self.push_manifest(repository, sha256(data), data, child_type), platform))
        index = self.push_manifest(repository, reference, self.index_manifest(media_type, children), media_type)
        index.children = [child for child, _ in children]
        return index

    def push(self, media_type, repository, reference="latest"):
        """Push a manifest of any supported media type (indexes with two children)."""
        if media_type in manifest_formats.INDEX_TYPES:
            return self.push_index(repository, reference, media_type)
        return self.push_image(repository, reference, media_type)


@pytest.fixture
def registry(client):
    return Registry(client)


def _assert_error(response, status, code):
    assert response.status_code == status, b"" if response.streaming else response.content[:500]
    assert response[API_VERSION[0]] == API_VERSION[1]
    if response.request["REQUEST_METHOD"] == "HEAD":
        return None
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert list(body) == ["errors"]
    assert [error["code"] for error in body["errors"]] == [code]
    assert set(body["errors"][0]) == {"code", "message", "detail"}
    assert isinstance(body["errors"][0]["message"], str) and body["errors"][0]["message"]
    return body["errors"][0]


@pytest.fixture
def assert_error():
    """assert_error(response, status, code) -> the error object (message, detail) for further checks."""
    return _assert_error


@dataclass
class LiveRegistry:
    url: str
    host: str
    port: int

    def raw(self, request_bytes, shutdown_write=False, timeout=10):
        """Send raw bytes on a fresh connection; return (status, headers, body) of the first response."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(request_bytes)
            if shutdown_write:
                sock.shutdown(socket.SHUT_WR)
            received = b""
            while b"\r\n\r\n" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            head, _, body = received.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            length = int(headers["content-length"]) if "content-length" in headers else None  # else: until EOF
            while length is None or len(body) < length:
                data = sock.recv(65536)
                if not data:
                    break
                body += data
            return status, headers, body[:length]


@pytest.fixture
def berth_server(live_registry_url):
    """Berth's runserver (de-chunking request bodies) in a thread, against the test database."""
    host, port = live_registry_url.rsplit("/", 1)[-1].split(":")
    return LiveRegistry(live_registry_url, host, int(port))
