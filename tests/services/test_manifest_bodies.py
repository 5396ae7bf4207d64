"""Manifest bodies cached per process by digest (images/services/manifest_bodies.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from images.errors import ManifestUnknown
from images.models import Manifest
from images.services import manifest_bodies, manifests
from tests.support import content


@pytest.fixture(autouse=True)
def empty_cache():
    manifest_bodies.clear()
    yield
    manifest_bodies.clear()


@pytest.mark.django_db
def test_a_second_pull_reads_only_the_lookup_and_gets_the_same_bytes():
    digest = content.push_image("cache/app", "v1")
    stored = bytes(Manifest.objects.get(digest=digest).payload)
    first = manifests.get("cache/app", "v1")
    with CaptureQueriesContext(connection) as queries:
        second = manifests.get("cache/app", "v1")
    assert bytes(first.payload) == bytes(second.payload) == stored
    assert len(queries) == 1  # the tag lookup; the body came from memory


@pytest.mark.django_db
def test_a_moved_tag_serves_the_new_body_at_once():
    content.push_image("cache/app", "v1", label="one")
    manifests.get("cache/app", "v1")
    moved = content.push_image("cache/app", "v1", label="two")
    assert manifests.get("cache/app", "v1").digest == moved
    assert bytes(manifests.get("cache/app", "v1").payload) == bytes(Manifest.objects.get(digest=moved).payload)


@pytest.mark.django_db
def test_a_row_gone_between_the_lookup_and_the_body_read_is_unknown():
    """The collector removed the row after the lookup found it: MANIFEST_UNKNOWN, never an empty body."""
    gone = Manifest(pk=10**12, digest="sha256:" + "0" * 64)
    with pytest.raises(ManifestUnknown):
        manifest_bodies.get(gone)
    assert gone.digest not in manifest_bodies._bodies


@pytest.mark.django_db
def test_the_cache_keeps_to_its_size(monkeypatch):
    monkeypatch.setattr(manifest_bodies, "LIMIT", 4000)
    digests = [content.push_image("cache/app", f"t{i}", label=f"l{i}") for i in range(6)]
    for i in range(6):
        manifests.get("cache/app", f"t{i}")
    assert manifest_bodies._held[0] <= 4000
    assert digests[-1] in manifest_bodies._bodies and digests[0] not in manifest_bodies._bodies
