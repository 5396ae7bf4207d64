"""Blob upload sessions: start, append (streamed, in order), complete, cancel; and the commit of their bytes.

Writing content and the online collector (images/services/gc.py) meet in the commit. Every path that
puts bytes at blobs/<digest> comes through it: the session records its intent (the Upload row carries
the digest) and any pending byte deletion of that digest (a BlobDeletion row) is cancelled, in one
step (the upload store's claim); then the bytes move; then the Blob row is upserted and locked where
the session row is deleted; then the staging goes. The collector deletes bytes only for a digest with
a BlobDeletion row, no Blob row and no intent, holding that BlobDeletion row locked.
"""

import uuid as uuidlib

from django.db import transaction

from images import digests, metrics
from images.errors import BlobUploadUnknown, DigestInvalid, RangeInvalid, SizeInvalid
from images.models import Upload
from images.services import upload_store
from policies import hooks as policy_hooks
from proxy import access as proxy_access
from storage_backends import upload_staging


def start(repository_name):
    proxy_access.refuse_push(repository_name)
    upload = Upload.objects.create(repository_name=repository_name)
    upload_staging.create(upload.uuid)
    metrics.count_upload("started")
    return upload


def _uuid(upload_id):
    try:
        return uuidlib.UUID(str(upload_id))
    except ValueError:
        return None


def get(repository_name, upload_id):
    uid = _uuid(upload_id)
    upload = upload_store.store().find(repository_name, uid) if uid is not None else None
    if upload is None:
        raise BlobUploadUnknown(detail={"uuid": str(upload_id)[:100]})
    return upload


def complete_staged(repository_name, upload_id, digest):
    """A final PUT without a body whose digest is the one recorded for the staged bytes: claimed by the
    upload store (intent recorded) and committed without reading the bytes back; two statements on
    PostgreSQL. None when that does not apply (use get/complete)."""
    try:
        digests.parse(digest)
    except DigestInvalid:
        return None  # the general path says so, after checking the session
    uid = _uuid(upload_id)
    upload = upload_store.store().claim(repository_name, uid, digest, staged=digest) if uid is not None else None
    if upload is None:
        return None
    proxy_access.refuse_push(repository_name)
    policy_hooks.admit_blob(upload, digest, upload.offset)  # quota: refused here, staged bytes freed (policies/)
    blob = _commit(upload, digest, upload.offset, _blob_rows)
    metrics.count_upload("completed")
    return blob


def append(upload, blocks, start=None):
    """Append a chunk; `start` (from Content-Range) must equal the current offset."""
    if start is not None and start != upload.offset:
        raise RangeInvalid(
            "chunk does not start at the current upload offset",
            detail={"offset": upload.offset, "start": start},
            headers=_progress_headers(upload),
        )
    if not upload_staging.is_present(upload.uuid):
        raise BlobUploadUnknown("upload data is gone", detail={"uuid": str(upload.uuid)})
    new_offset = upload_staging.append(upload.uuid, upload.offset, blocks)
    staged = upload_staging.running_digest(upload.uuid, new_offset)
    if not upload_store.store().advance(upload, new_offset, staged):
        raise RangeInvalid("upload was modified concurrently", headers=_progress_headers(upload))
    upload.offset, upload.staged_digest = new_offset, staged
    return upload


def complete(upload, digest, blocks=None, expected_size=None, start=None):
    """Append the final body (from `start`, when its Content-Range says, like a PATCH), verify the digest
    and commit the blob."""
    algorithm, _ = digests.parse(digest)
    proxy_access.refuse_push(upload.repository_name)
    if blocks is not None:
        append(upload, blocks, start=start)
    if expected_size is not None and expected_size != upload.offset:
        raise SizeInvalid(detail={"expected": expected_size, "received": upload.offset})
    actual = upload_staging.digest_of(upload.uuid, upload.offset, algorithm, known=upload.staged_digest)
    if actual != digest:
        raise DigestInvalid(detail={"expected": digest, "actual": actual})
    blob = commit(upload, digest, upload.offset)
    metrics.count_upload("completed")
    return blob


def commit(upload, digest, size):
    """Staged bytes whose digest the caller checked become a v2 blob of the upload's repository (a push;
    also an archive import and a mirror's fetch)."""
    policy_hooks.admit_blob(upload, digest, size)  # quota: refused here, staged bytes freed (policies/)
    announce(upload, digest)
    return _commit(upload, digest, size, _blob_rows)


def commit_layer(upload, attach=None):
    """A v1 blob streamed into the session (append): its bytes become a blob of no repository,
    attached by `attach(blob)` in the rows' transaction (images/services/v1_images.py)."""
    digest = upload_staging.digest_of(upload.uuid, upload.offset, known=upload.staged_digest)
    policy_hooks.admit_blob(upload, digest, upload.offset)
    announce(upload, digest)
    return _commit(upload, digest, upload.offset, lambda *args: _layer_rows(*args, attach))


def announce(upload, digest):
    """Before the upload's bytes become blobs/<digest>: record the intent and cancel a pending deletion
    (the upload store's claim). Deleting the BlobDeletion row waits while the collector holds it (it is
    deleting those bytes right now); after that the collector leaves the digest alone for as long as
    the Upload row carries it."""
    claimed = upload_store.store().claim(upload.repository_name, upload.uuid, digest)
    if claimed is None:
        raise BlobUploadUnknown("upload was cancelled or expired", detail={"uuid": str(upload.uuid)})
    upload.digest, upload.known_repository_id = digest, claimed.known_repository_id


def _commit(upload, digest, size, rows):
    """A claimed upload: its bytes to their content address, then `rows(upload, digest, size)` (the Blob
    row, or None when the session went meanwhile), then the staging (after the rows: a retried commit
    finds it whole)."""
    try:
        upload_staging.promote(upload.uuid, digest, size)
    except FileNotFoundError:
        raise BlobUploadUnknown(
            "upload data is gone, start the upload again", detail={"uuid": str(upload.uuid)}
        ) from None
    blob = rows(upload, digest, size)
    if blob is None:  # purged while committing: without its intent the bytes were not protected
        raise BlobUploadUnknown("upload expired while committing, retry", detail={"uuid": str(upload.uuid)})
    upload_staging.discard(upload.uuid)
    return blob


def _blob_rows(upload, digest, size):
    """Session deleted, Blob row upserted and locked, linked to the repository (created on a first push)."""
    return upload_store.store().commit_blob(upload, digest, size)


def _layer_rows(upload, digest, size, attach):
    """Session deleted, Blob row upserted and locked, and `attach(blob)`, in one transaction."""
    with transaction.atomic():
        blob = upload_store.store().commit_layer(upload, digest, size)
        if blob is not None and attach is not None:
            attach(blob)
    return blob


def cancel(upload):
    Upload.objects.filter(pk=upload.pk).delete()
    upload_staging.discard(upload.uuid)
    metrics.count_upload("cancelled")


def _progress_headers(upload):
    return {"Range": range_header(upload.offset), "Docker-Upload-UUID": str(upload.uuid)}


def range_header(offset):
    return f"0-{max(offset - 1, 0)}"
