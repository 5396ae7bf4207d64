"""Helpers for service-level tests: push blobs and manifests through the services, not HTTP.

Tests reach them through the `registry` fixture, e.g. `registry.push_image("team/app")`.
"""

import json
from types import SimpleNamespace

import pytest

from images import manifest_formats
from images.digests import of_bytes as sha256
from images.services import manifests, uploads

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"


def push_blob(repository, data):
    """Upload `data` into `repository` the way a client does (session, chunk, complete); return its digest."""
    upload = uploads.start(repository)
    uploads.append(upload, [data])
    uploads.complete(upload, sha256(data))
    return sha256(data)


def image_manifest(config=b"{}", layers=(b"layer",), **extra):
    """OCI image manifest bytes referencing blobs with the given contents."""
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": sha256(data), "size": len(data)} for data in layers],
        **extra,
    }
    return json.dumps(body, indent=2).encode()


def index_manifest(*children):
    """OCI index bytes over (manifest bytes, platform) pairs."""
    entries = [
        {"mediaType": manifest_formats.OCI_MANIFEST, "digest": sha256(data), "size": len(data), "platform": platform}
        for data, platform in children
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": entries}).encode()


def push_image(repository, reference="latest", config=b"{}", layers=(b"layer",), **extra):
    """Push the blobs, then the manifest; return the manifest bytes."""
    for data in (config, *layers):
        push_blob(repository, data)
    data = image_manifest(config, layers, **extra)
    manifests.put(repository, reference, data, manifest_formats.OCI_MANIFEST)
    return data


@pytest.fixture
def registry():
    return SimpleNamespace(
        push_blob=push_blob, image_manifest=image_manifest, index_manifest=index_manifest, push_image=push_image
    )


@pytest.fixture
def blob_files(registry_storage):
    """A callable listing the content files in registry storage, relative to its root."""

    def files():
        return sorted(str(p.relative_to(registry_storage)) for p in registry_storage.glob("blobs/**/*") if p.is_file())

    return files


@pytest.fixture
def upload_dirs(registry_storage):
    """A callable listing the upload staging folders left in registry storage."""

    def dirs():
        return sorted(p.name for p in registry_storage.glob("uploads/*"))

    return dirs
