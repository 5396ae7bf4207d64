"""Blob upload sessions: start, append (streamed, in order), complete, cancel."""

import uuid as uuidlib

from images import digests, metrics
from images.errors import BlobUploadUnknown, DigestInvalid, RangeInvalid, SizeInvalid
from images.models import Upload
from images.services import blobs, upload_store
from proxy import access as proxy_access
from storage_backends import upload_staging


def start(repository_name):
    proxy_access.refuse_push(repository_name)
    upload = Upload.objects.create(repository_name=repository_name)
    upload_staging.create(upload.uuid)
    metrics.count_upload("started")
    return upload


def get(repository_name, upload_id):
    unknown = BlobUploadUnknown(detail={"uuid": str(upload_id)[:100]})
    try:
        uid = uuidlib.UUID(str(upload_id))
    except ValueError:
        raise unknown from None
    upload = upload_store.store().find(repository_name, uid)
    if upload is None:
        raise unknown
    return upload


def complete_staged(repository_name, upload_id, digest):
    """A final PUT without a body whose digest is the one recorded for the staged bytes: claimed by the
    upload store (intent recorded) and committed without reading the bytes back; two statements on
    PostgreSQL. None when that does not apply (use get/complete)."""
    try:
        digests.parse(digest)
    except DigestInvalid:
        return None  # the general path says so, after checking the session
    upload = upload_store.store().claim(repository_name, upload_id, digest)
    if upload is None:
        return None
    proxy_access.refuse_push(repository_name)
    blob = blobs.commit_blob(upload, digest, upload.offset, announced=True)
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
    blob = blobs.commit_blob(upload, digest, upload.offset)
    metrics.count_upload("completed")
    return blob


def commit_layer(upload, attach):
    """A v1 layer streamed into the session (append): its bytes become a blob, attached by
    `attach(blob)` in the rows' transaction (images/services/v1_images.py)."""
    digest = upload_staging.digest_of(upload.uuid, upload.offset, known=upload.staged_digest)
    return blobs.commit_layer(upload, digest, upload.offset, attach)


def cancel(upload):
    Upload.objects.filter(pk=upload.pk).delete()
    upload_staging.discard(upload.uuid)
    metrics.count_upload("cancelled")


def _progress_headers(upload):
    return {"Range": range_header(upload.offset), "Docker-Upload-UUID": str(upload.uuid)}


def range_header(offset):
    return f"0-{max(offset - 1, 0)}"
