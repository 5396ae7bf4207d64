"""Blobs: content rows, per-repository links, mount and delete.

Writing content and the online collector (images/services/gc.py) meet here.
Every path that puts bytes at blobs/<digest> first records its intent (an
Upload row carrying the digest) and cancels any pending byte deletion of that
digest (a BlobDeletion row), then moves the bytes, then creates or locks the
Blob row. The collector deletes bytes only for a digest with a BlobDeletion
row, no Blob row and no intent, holding that BlobDeletion row locked.
"""

import itertools

from django.db import transaction

from images import digests, references
from images.conf import registry_setting
from images.errors import BlobUnknown, BlobUploadUnknown, NameInvalid
from images.models import Blob, Repository, RepositoryBlob
from images.services import prepared, upload_store
from policies import hooks as policy_hooks
from proxy import access as proxy_access
from storage_backends import blobstore, paths, upload_staging

_STAT_FIELDS = ("id", "digest", "size", "media_type")
# Every blob HEAD/GET (and a HEAD before each upload): compiled once per process.
_STAT = prepared.Prepared(
    lambda repository, digest: Blob.objects.filter(
        digest=digest, repository_links__repository__name=repository
    ).values_list(*_STAT_FIELDS)[:1],
    "repository",
    "digest",
)


def stat(repository_name, digest):
    """The Blob visible in the repository, or BLOB_UNKNOWN."""
    digests.parse(digest)
    found = _STAT.instances(_STAT_FIELDS, repository=repository_name, digest=digest)
    if not found:
        raise BlobUnknown(detail={"digest": digest})
    return found[0]


def _missing(blob):
    return BlobUnknown("blob content is missing from storage", detail={"digest": blob.digest})


def open_bytes(blob):
    """A file object over the blob's bytes (a real file on the filesystem backend)."""
    try:
        return blobstore.open_blob(blob.digest)
    except FileNotFoundError:
        raise _missing(blob) from None


def local_file(blob):
    """The open file of the blob on the filesystem backend (for a FileResponse), else None."""
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


def link(repository_name, digest, size, verify_bytes=False):
    """Create (or find) the Blob row and make it visible in the repository (created if missing).

    With verify_bytes, the bytes must be in storage while the row is locked
    (BLOB_UNKNOWN otherwise, nothing written): used where no upload of ours put
    them there. Checked under the lock, as the collector deletes bytes only
    while no row holds them.
    """
    references.validate_name(repository_name)
    # No savepoint when nested: an error here aborts the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        blob = upload_store.store().link(repository_name, digest, size)
        if verify_bytes and not blobstore.exists(digest):
            raise BlobUnknown("blob content is missing from storage", detail={"digest": digest})
    return blob


def announce(upload, digest):
    """Before the upload's bytes become blobs/<digest>: record the intent and cancel a pending deletion
    (the upload store's claim: one statement on PostgreSQL). Deleting the BlobDeletion row waits while
    the collector holds it (it is deleting those bytes right now); after that the collector leaves the
    digest alone for as long as the Upload row carries it."""
    claimed = upload_store.store().claim(upload.repository_name, upload.uuid, digest)
    if claimed is None:
        raise BlobUploadUnknown("upload was cancelled or expired", detail={"uuid": str(upload.uuid)})
    upload.digest, upload.known_repository_id = digest, claimed.known_repository_id


def _expired(upload):
    """The session row went while committing (purged): without its intent the bytes were not protected."""
    return BlobUploadUnknown("upload expired while committing, retry", detail={"uuid": str(upload.uuid)})


def _promote(upload, digest, size):
    """The staged bytes of a claimed upload (announce) to their content address."""
    try:
        upload_staging.promote(upload.uuid, digest, size)
    except FileNotFoundError:
        raise BlobUploadUnknown(
            "upload data is gone, start the upload again", detail={"uuid": str(upload.uuid)}
        ) from None


def commit_blob(upload, digest, size):
    """A v2 blob of a claimed upload: the bytes, then the rows linking it to the upload's repository."""
    _promote(upload, digest, size)
    blob = upload_store.store().commit_blob(upload, digest, size)
    if blob is None:
        raise _expired(upload)
    upload_staging.discard(upload.uuid)  # staging goes after the rows (a retried commit finds it whole)
    return blob


def commit_layer(upload, digest, size, attach=None):
    """A v1 blob of a claimed upload: the bytes, then the Blob row and `attach(blob)` (the layer set on
    its image) in one transaction; no repository link (v1 images are global)."""
    _promote(upload, digest, size)
    with transaction.atomic():
        blob = upload_store.store().commit_layer(upload, digest, size)
        if blob is None:
            raise _expired(upload)
        if attach is not None:
            attach(blob)
    upload_staging.discard(upload.uuid)  # as commit_blob
    return blob


def mount(repository_name, digest, from_repository):
    """Link a blob from another repository; None when it can't be mounted."""
    proxy_access.refuse_push(repository_name)
    try:
        source = stat(references.validate_name(from_repository), digest)
    except (BlobUnknown, NameInvalid):
        return None
    if not blobstore.exists(digest):  # the common case, answered without a transaction to abort
        return None
    if not policy_hooks.admit_mount(repository_name, digest, source.size):  # over quota: the upload says so
        return None
    try:
        return link(repository_name, digest, source.size, verify_bytes=True)
    except BlobUnknown:  # collected between the two steps: the client uploads instead
        return None


def delete(repository_name, digest):
    """Unlink the blob from the repository; garbage collection frees the bytes.

    The repository row is locked, as a manifest push does, so a push never
    validates against a link that disappears before it commits.
    """
    digests.parse(digest)
    with transaction.atomic():
        repo = Repository.objects.select_for_update().filter(name=repository_name).first()
        deleted = 0
        if repo is not None:
            deleted, _ = RepositoryBlob.objects.filter(repository=repo, blob__digest=digest).delete()
    if not deleted:
        raise BlobUnknown(detail={"digest": digest})
