"""Blob upload sessions: start, append (streamed, in order), complete, cancel."""

import uuid as uuidlib

from django.utils import timezone

from images import digests, metrics
from images.errors import BlobUploadUnknown, DigestInvalid, RangeInvalid, SizeInvalid
from images.models import Upload
from images.services import blobs
from images.services import upload_sql as statements
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
    if statements.enabled():
        upload = statements.find(repository_name, uid)
    else:
        upload = Upload.objects.filter(uuid=uid, repository_name=repository_name).first()
    if upload is None:
        raise unknown
    return upload


def complete_staged(repository_name, upload_id, digest):
    """A final PUT without a body whose digest is the one recorded for the staged bytes: claimed and
    committed with two statements on PostgreSQL. None when that does not apply (use get/complete)."""
    if not statements.enabled():
        return None
    try:
        digests.parse(digest)
    except DigestInvalid:
        return None  # the general path says so, after checking the session
    upload = statements.claim(repository_name, upload_id, digest)
    if upload is None:
        return None
    proxy_access.refuse_push(repository_name)
    blob = blobs.commit_upload(upload, digest, upload.offset, announced=True)
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
    if statements.enabled():
        updated = statements.advance(upload, new_offset, staged)
    else:
        updated = Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(
            offset=new_offset, staged_digest=staged, updated_at=timezone.now()
        )
    if not updated:
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
    blob = blobs.commit_upload(upload, digest, upload.offset)
    metrics.count_upload("completed")
    return blob


def cancel(upload):
    Upload.objects.filter(pk=upload.pk).delete()
    upload_staging.discard(upload.uuid)
    metrics.count_upload("cancelled")


def _progress_headers(upload):
    return {"Range": range_header(upload.offset), "Docker-Upload-UUID": str(upload.uuid)}


def range_header(offset):
    return f"0-{max(offset - 1, 0)}"
