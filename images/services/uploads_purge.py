"""Abandoned upload sessions: rows not touched for a while, and staging bytes with no session.

A session's row goes first (in a transaction that re-checks its age), its
staging bytes after commit; a client still holding the session then gets
BLOB_UPLOAD_UNKNOWN and starts over. Sessions that are committing (their
digest is set, images/services/blobs.py) are left alone unless stuck for
STUCK_COMMIT: their row is what keeps the collector off their bytes.
Staging folders with no row (a crash between row and bytes) go once their
newest object is older than the cutoff.
"""

import uuid as uuidlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from images import metrics
from images.models import Upload
from images.progress import NullProgress
from storage_backends import upload_staging

STUCK_COMMIT = timedelta(days=1)
BATCH = 500


@dataclass
class PurgeResult:
    sessions: int = 0
    stray: int = 0
    bytes: int = 0
    dry_run: bool = False

    def summary(self):
        verb = "would purge" if self.dry_run else "purged"
        return f"{verb} {self.sessions} upload session(s) and {self.stray} stray staging folder(s), {self.bytes} bytes"


def _expired(cutoff, now):
    return Q(updated_at__lt=cutoff) & (Q(digest="") | Q(updated_at__lt=now - STUCK_COMMIT))


def _is_uuid(text):
    try:
        return str(uuidlib.UUID(text)) == text
    except ValueError:
        return False


def plan(cutoff, now=None):
    """([(id, uuid, bytes)] of expired sessions, [(upload id, bytes)] of staging folders with no session)."""
    now = now or timezone.now()
    sessions = list(Upload.objects.filter(_expired(cutoff, now)).values_list("pk", "uuid", "offset"))
    known = {str(u) for u in Upload.objects.values_list("uuid", flat=True)}
    cutoff_ts = cutoff.timestamp()
    stray = [
        (uid, size)
        for uid, size, newest in upload_staging.iter_staged()
        if _is_uuid(uid) and uid not in known and newest < cutoff_ts
    ]
    return sessions, stray


def purge(cutoff, dry_run=False, progress=NullProgress, now=None):
    now = now or timezone.now()
    sessions, stray = plan(cutoff, now)
    result = PurgeResult(dry_run=dry_run)
    if dry_run:
        result.sessions, result.stray = len(sessions), len(stray)
        result.bytes = sum(size for _, _, size in sessions) + sum(size for _, size in stray)
        return result
    bar = progress("uploads", len(sessions) + len(stray), "upload")
    for i in range(0, len(sessions), BATCH):
        batch = sessions[i : i + BATCH]
        with transaction.atomic():
            gone = list(
                Upload.objects.select_for_update()
                .filter(pk__in=[pk for pk, _, _ in batch])
                .filter(_expired(cutoff, now))
                .values_list("pk", "uuid", "offset")
            )
            Upload.objects.filter(pk__in=[pk for pk, _, _ in gone]).delete()
        for _, uid, size in gone:
            upload_staging.discard(uid)
            metrics.count_upload("purged")
            result.sessions += 1
            result.bytes += size
        bar.update(len(batch))
    for uid, size in stray:
        if not Upload.objects.filter(uuid=uid).exists():
            upload_staging.discard(uid)
            result.stray += 1
            result.bytes += size
        bar.update()
    bar.close()
    return result
