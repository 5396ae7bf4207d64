"""Helpers every suite shares: digests, content pushed through the services the way a client's push
lands (no HTTP), and Berth served over real HTTP against the test database.

Django is imported inside the functions, so scripts outside pytest (bench/) can use `sha256`.

Fixtures (tests/conftest.py loads this module as a plugin):
  live_registry_url  Berth's runserver (registry_site.server.devserver, de-chunks bodies) in a thread, over
                     real HTTP on 127.0.0.1, against the test database; yields its base URL
"""

import hashlib
import json

import pytest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type, data, **extra):
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def image_manifest(config=b"{}", layers=(b"layer",), **extra):
    """OCI image manifest bytes (pretty-printed) referencing blobs with the given contents."""
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
        **extra,
    }
    return json.dumps(body, indent=2).encode()


def push_blob(repository, data):
    """Upload `data` into `repository` the way a client does (session, chunk, complete); return its digest."""
    from images.services import uploads

    upload = uploads.start(repository)
    uploads.append(upload, [data])
    uploads.complete(upload, sha256(data))
    return sha256(data)


def push_image(repository, reference="latest", config=b"{}", layers=(b"layer",), **extra):
    """Push the blobs, then the OCI image manifest; return the manifest bytes."""
    from images.services import manifests

    for data in (config, *layers):
        push_blob(repository, data)
    data = image_manifest(config, layers, **extra)
    manifests.put(repository, reference, data, OCI_MANIFEST)
    return data


@pytest.fixture
def live_registry_url(transactional_db):
    """Base URL of Berth served over real HTTP on 127.0.0.1, against the test database."""
    from tests.support import live_server

    with live_server.serving() as port:
        yield f"http://127.0.0.1:{port}"
