"""Blob links: visibility per repository, cross-repository mount, unlink."""

import pytest

from images import digests
from images.errors import BlobUnknown, DigestInvalid
from images.models import Blob, Repository, RepositoryBlob
from images.services import blobs
from storage_backends import blobstore

pytestmark = pytest.mark.django_db


def test_stat_sees_only_blobs_linked_to_the_repository(registry):
    digest = registry.push_blob("a/one", b"payload")
    assert blobs.stat("a/one", digest).size == len(b"payload")
    with pytest.raises(BlobUnknown):
        blobs.stat("b/two", digest)
    with pytest.raises(BlobUnknown):
        blobs.stat("a/one", digests.of_bytes(b"never pushed"))
    with pytest.raises(DigestInvalid):
        blobs.stat("a/one", "sha256:nope")


def test_mount_links_the_existing_blob(registry, blob_files):
    digest = registry.push_blob("a/one", b"payload")
    blob = blobs.mount("b/two", digest, "a/one")
    assert blob.digest == digest
    assert blobs.stat("b/two", digest) == blob
    assert Blob.objects.count() == 1
    assert set(RepositoryBlob.objects.values_list("repository__name", flat=True)) == {"a/one", "b/two"}
    assert len(blob_files()) == 1


def test_mount_from_a_repository_without_the_blob_does_nothing(registry):
    digest = registry.push_blob("a/one", b"payload")
    registry.push_blob("c/three", b"other")
    assert blobs.mount("b/two", digest, "c/three") is None
    assert blobs.mount("b/two", digest, "no/such/repo") is None
    assert not Repository.objects.filter(name="b/two").exists()
    assert not RepositoryBlob.objects.filter(repository__name="b/two").exists()


def test_mount_refuses_a_blob_whose_bytes_are_missing(registry):
    digest = registry.push_blob("a/one", b"payload")
    blobstore.delete(digest)
    assert blobs.mount("b/two", digest, "a/one") is None
    assert not RepositoryBlob.objects.filter(repository__name="b/two").exists()


def test_delete_unlinks_from_one_repository_only(registry, blob_files):
    digest = registry.push_blob("a/one", b"payload")
    blobs.mount("b/two", digest, "a/one")
    blobs.delete("a/one", digest)
    with pytest.raises(BlobUnknown):
        blobs.stat("a/one", digest)
    assert blobs.stat("b/two", digest)
    assert Blob.objects.filter(digest=digest).exists()  # garbage collection frees rows and bytes
    assert len(blob_files()) == 1
    with pytest.raises(BlobUnknown):
        blobs.delete("a/one", digest)


def test_open_bytes_of_a_blob_missing_from_storage_is_blob_unknown(registry):
    digest = registry.push_blob("a/one", b"payload")
    blob = blobs.stat("a/one", digest)
    with blobs.open_bytes(blob) as fh:
        assert fh.read() == b"payload"
    blobstore.delete(digest)
    with pytest.raises(BlobUnknown):
        blobs.open_bytes(blob)
