"""Blobs: content rows, per-repository links, mount and delete."""

import itertools

from django.db import transaction

from images import digests
from images.conf import registry_setting
from images.errors import BlobUnknown
from images.models import Blob, RepositoryBlob
from images.services import repositories
from storage_backends import blobstore, paths, scratch


def stat(repository_name, digest):
    """The Blob visible in the repository, or BLOB_UNKNOWN."""
    digests.parse(digest)
    blob = Blob.objects.filter(digest=digest, repository_links__repository__name=repository_name).first()
    if blob is None:
        raise BlobUnknown(detail={"digest": digest})
    return blob


def _missing(blob):
    return BlobUnknown("blob content is missing from storage", detail={"digest": blob.digest})


def open_bytes(blob):
    """A file object over the blob's bytes (a real file on the filesystem backend)."""
    try:
        return blobstore.open_blob(blob.digest)
    except FileNotFoundError:
        raise _missing(blob) from None


def local_file(blob):
    """The open file of the blob on the filesystem backend (sendfile-able), else None."""
    if blobstore.blob_path(blob.digest) is None:
        return None
    return open_bytes(blob)


def stream(blob, start=0, end=None):
    """Iterate the blob's bytes start..end; a missing object fails here, before any byte is sent."""
    blocks = blobstore.read_blob(blob.digest, start, end)
    try:
        first = next(blocks, b"")
    except FileNotFoundError:
        raise _missing(blob) from None
    return itertools.chain([first], blocks)


def accel_redirect(blob):
    """The nginx-internal path of the blob when X-Accel-Redirect is configured (filesystem only)."""
    prefix = registry_setting("ACCEL_REDIRECT_PREFIX")
    if not prefix or blobstore.blob_path(blob.digest) is None:
        return None
    return prefix.rstrip("/") + "/" + paths.blob(blob.digest)


def redirect_url(blob):
    """A presigned URL when redirect mode is on and the backend can make one."""
    if not registry_setting("STORAGE_REDIRECT"):
        return None
    return blobstore.redirect_url(blob.digest)


def link(repository_name, digest, size):
    """Create (or find) the Blob row and make it visible in the repository."""
    with transaction.atomic():
        repo = repositories.get_or_create(repository_name)
        blob, _ = Blob.objects.get_or_create(digest=digest, defaults={"size": size})
        RepositoryBlob.objects.get_or_create(repository=repo, blob=blob)
    return blob


def commit_upload(upload, digest, size):
    """Bytes first (move to the content address), then rows in one transaction."""
    scratch.promote(upload.uuid, digest)
    with transaction.atomic():
        blob = link(upload.repository_name, digest, size)
        type(upload).objects.filter(pk=upload.pk).delete()
    return blob


def mount(repository_name, digest, from_repository):
    """Link a blob from another repository; None when it can't be mounted."""
    try:
        source = stat(from_repository, digest)
    except BlobUnknown:
        return None
    if not blobstore.exists(digest):
        return None
    return link(repository_name, digest, source.size)


def delete(repository_name, digest):
    """Unlink the blob from the repository; garbage collection frees the bytes."""
    digests.parse(digest)
    deleted, _ = RepositoryBlob.objects.filter(repository__name=repository_name, blob__digest=digest).delete()
    if not deleted:
        raise BlobUnknown(detail={"digest": digest})
