"""Helpers for service-level tests: push blobs and manifests through the services, not HTTP.

Tests reach them through the `registry` fixture, e.g. `registry.push_image("team/app")`.
"""

import json
from types import SimpleNamespace

import pytest

from images import manifest_formats
from tests.support.registry import image_manifest, push_blob, push_image, sha256

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"


def index_manifest(*children):
    """OCI index bytes over (manifest bytes, platform) pairs."""
    entries = [
        {"mediaType": manifest_formats.OCI_MANIFEST, "digest": sha256(data), "size": len(data), "platform": platform}
        for data, platform in children
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": entries}).encode()


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
