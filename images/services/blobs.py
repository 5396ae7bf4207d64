"""Blobs: reads, per-repository links, mount and delete. Bytes arrive through uploads (images/services/uploads.py,
where writing content meets the collector); a link to bytes already stored is made here, under the Blob row's lock.
"""

import itertools

from django.db import transaction

from images import digests, references
from images.conf import registry_setting
from images.errors import BlobUnknown, NameInvalid
from images.models import Blob, Repository, RepositoryBlob
from images.services import prepared, upload_store
from policies import hooks as policy_hooks
from proxy import access as proxy_access
from storage_backends import blobstore, paths

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
