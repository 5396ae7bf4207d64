"""The database steps of a blob upload behind one interface, its implementation chosen once per process.

Every database runs the same service code (images/services/uploads.py, blobs.py); only these steps
differ. On PostgreSQL each is one statement (images/services/upload_sql.py); elsewhere (SQLite) the
ORM does them in a transaction. Both keep the collector's protocol (gc.py): the intent is recorded
and the tombstone removed before the bytes move, and the Blob row is locked where the session row
is deleted, in one atomic step.

    find(repository, uid)              the session, or None
    advance(upload, offset, staged)    move the offset on if nobody else did: 1, else 0
    claim(repository, upload_id, d)    the session whose staged bytes were recorded as `d`, with the
                                       intent recorded (blobs.announce); None when none matches
    commit_rows(upload, digest, size)  session deleted, Blob row upserted and locked, repository
                                       (created on a first push) linked; BLOB_UPLOAD_UNKNOWN and no
                                       rows at all when the session is gone
"""

import uuid as uuidlib

from django.db import connections, router, transaction
from django.utils import timezone

from images.errors import BlobUploadUnknown
from images.models import Blob, Upload
from images.services import upload_sql

_chosen = None


class SqlStore:
    """PostgreSQL: one statement per step."""

    find = staticmethod(upload_sql.find)
    advance = staticmethod(upload_sql.advance)
    claim = staticmethod(upload_sql.claim)
    commit_rows = staticmethod(upload_sql.commit_rows)


class OrmStore:
    """Any database Django supports: the ORM, the rows in one transaction."""

    @staticmethod
    def find(repository_name, uid):
        return Upload.objects.filter(uuid=uid, repository_name=repository_name).first()

    @staticmethod
    def advance(upload, new_offset, staged_digest):
        return Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(
            offset=new_offset, staged_digest=staged_digest, updated_at=timezone.now()
        )

    @classmethod
    def claim(cls, repository_name, upload_id, digest):
        from images.services import blobs

        try:
            uid = uuidlib.UUID(str(upload_id))
        except ValueError:
            return None
        upload = cls.find(repository_name, uid)
        if upload is None or upload.staged_digest != digest:
            return None
        blobs.announce(upload, digest)
        return upload

    @staticmethod
    def commit_rows(upload, digest, size):
        from images.services import blobs

        with transaction.atomic():
            blob = blobs.link(upload.repository_name, digest, size)
            delete_session(upload)
        return blob


def delete_session(upload):
    """Inside the commit's transaction: the session row goes, or BLOB_UPLOAD_UNKNOWN (purged meanwhile:
    without its intent the bytes were not protected)."""
    if not Upload.objects.filter(pk=upload.pk).delete()[0]:
        raise BlobUploadUnknown("upload expired while committing, retry", detail={"uuid": str(upload.uuid)})


def choose(vendor):
    return SqlStore() if vendor == "postgresql" else OrmStore()


def store():
    """The implementation for this process's database, chosen on first use."""
    global _chosen
    if _chosen is None:
        _chosen = choose(connections[router.db_for_write(Blob)].vendor)
    return _chosen
