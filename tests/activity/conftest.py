"""The activity suite runs with registry authentication on, over tests/auth's world of accounts."""

import json
import os

import pytest

from images import manifest_formats
from images.services import notifications
from tests.auth.conftest import api, basic, world  # noqa: F401  (fixtures)
from tests.support import content


@pytest.fixture(autouse=True)
def auth_on(settings):
    from django.core.cache import cache

    settings.REGISTRY = {**settings.REGISTRY, "AUTH": "token", "WEBHOOK_SYNC": True}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    notifications.clear_cache()
    from activity import pulls

    pulls._pending.clear()
    pulls._written_at.clear()


def image_bytes(repository, label):
    """Blobs stored for `repository` (no log entry: no manifest), and a manifest naming them."""
    config = content.image_config(label=label, steps=1)
    layer = os.urandom(1024)
    for data in (config, layer):
        content.push_blob(repository, data)
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": content.OCI_CONFIG, "digest": content.sha256(config), "size": len(config)},
        "layers": [{"mediaType": content.OCI_LAYER, "digest": content.sha256(layer), "size": len(layer)}],
    }
    data = json.dumps(body).encode()
    return data, content.sha256(data)


def put(client, creds, repository, reference, data):
    return client.generic(
        "PUT",
        f"/v2/{repository}/manifests/{reference}",
        data,
        content_type=manifest_formats.OCI_MANIFEST,
        HTTP_AUTHORIZATION=basic(*creds),
    )
