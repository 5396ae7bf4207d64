"""Helpers for the operations tests: content pushed through the services, checked the way a pull reads it."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from images import manifest_formats
from images.models import Blob
from images.services import blobs, gc, manifests
from storage_backends import blobstore
from tests.support import registry as support
from tests.support.registry import descriptor, image_manifest, push_blob, sha256

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"


def push_image(repository, reference="latest", config=None, layers=None, **extra):
    """Push blobs and an OCI image manifest; returns (manifest bytes, [blob digests])."""
    config = config if config is not None else json.dumps({"os": "linux", "n": reference}).encode()
    layers = layers if layers is not None else [f"layer of {repository}:{reference}".encode()]
    data = support.push_image(repository, reference, config, layers, **extra)
    return data, [sha256(blob) for blob in (config, *layers)]


def push_index(repository, reference="latest", platforms=("amd64", "arm64")):
    """One child per platform (pushed by digest), then the index; returns (index bytes, [child bytes], [blobs])."""
    children, used, entries = [], [], []
    for arch in platforms:
        config = json.dumps({"os": "linux", "architecture": arch, "repo": repository}).encode()
        layer = f"{repository} {arch} layer".encode()
        child = image_manifest(config, [layer])
        used += [push_blob(repository, config), push_blob(repository, layer)]
        manifests.put(repository, sha256(child), child, manifest_formats.OCI_MANIFEST)
        children.append(child)
        entries.append(descriptor(manifest_formats.OCI_MANIFEST, child, platform={"os": "linux", "architecture": arch}))
    index = json.dumps({"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": entries}).encode()
    manifests.put(repository, reference, index, manifest_formats.OCI_INDEX)
    return index, children, used


def pull(repository, reference):
    """Everything a client would fetch for the reference, hash-checked; returns the blob digests read."""
    manifest = manifests.get(repository, reference)
    parsed = manifest_formats.parse(bytes(manifest.payload), manifest.media_type)
    read = []
    for child in parsed.children:
        read += pull(repository, child.digest)
    for d in [parsed.config, *parsed.layers] if parsed.config else list(parsed.layers):
        blob = blobs.stat(repository, d.digest)
        data = b"".join(blobs.stream(blob))
        assert sha256(data) == d.digest, f"{d.digest} corrupt"
        read.append(d.digest)
    return read


def has_bytes(digest):
    return blobstore.exists(digest)


def has_row(digest):
    return Blob.objects.filter(digest=digest).exists()


def later(**kwargs):
    """A `now` in the future, so that everything pushed so far is older than the grace window."""
    return timezone.now() + timedelta(**(kwargs or {"seconds": 5}))


def collect(grace=timedelta(0), **kwargs):
    kwargs.setdefault("now", later())
    return gc.collect(grace=grace, **kwargs)


@pytest.fixture(autouse=True)
def fresh_webhook_cache():
    from images.services import notifications

    notifications.clear_cache()
    yield
    notifications.clear_cache()


@pytest.fixture
def ops():
    return SimpleNamespace(
        push_blob=push_blob,
        push_image=push_image,
        push_index=push_index,
        image_bytes=image_manifest,
        pull=pull,
        has_bytes=has_bytes,
        has_row=has_row,
        collect=collect,
        later=later,
        sha256=sha256,
    )


class Receiver:
    """A small HTTP server that records what is POSTed to it; `fail_next` answers 500 that many times."""

    def __init__(self):
        import http.server
        import threading

        self.requests = []
        self.fail_next = 0
        self.event = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.requests.append((dict(self.headers), body))
                receiver.event.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self):
        return [event for _, body in self.requests for event in json.loads(body)["events"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
