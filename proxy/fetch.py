"""Blobs fetched from upstream: one download per digest on the machine, streamed to every client.

The first request for a digest inserts a BlobFetch row (the claim; unique per digest, so exactly
one process wins), opens the upstream blob (its errors are the client's errors, before any byte is
sent) and hands the stream to a thread that appends it to a spool file (the remote client hashes it as
it passes). Every
client, the first one included, tails that spool file: it gets bytes as they arrive, memory stays
at one block. When the download is complete and its digest and size match, the spool becomes an
ordinary upload and is committed through the upload path (images/services/uploads.commit);
then the row goes. A failed download never lands: the row goes, the spool is truncated, and every
tailer aborts its response (the last byte is held back until the commit, so a client never gets
a complete body of bad bytes).
"""

import itertools
import logging
import os
import socket
import threading
import time
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone

from images import digests
from images.errors import BlobUnknown, Unavailable
from images.models import Blob, Upload
from images.services import blobs, uploads
from proxy import store, upstream
from proxy.models import BlobFetch
from proxy.threads import ReusableThreads
from remote import errors as remote_errors
from storage_backends import blobstore, paths, upload_staging, writeback

logger = logging.getLogger("berth.proxy")
BLOCK = 1024 * 1024
POLL_SECONDS = 0.02
ROW_CHECK_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 60.0
OWNER = f"{socket.gethostname()}:{os.getpid()}"
# Fetches this process runs: fetch id -> Condition notified on every chunk and at the end, so local
# tailers wake at once (tailers in other processes poll the file and the row).
_local = {}
_THREADS = ReusableThreads("proxy-fetch")  # proxy/threads.py: a thread and its database connection reused


class FetchFailed(Exception):
    """Raised inside a streaming body: the server aborts the connection."""


class Fetching:
    """A blob being fetched: what the blob view needs to answer (headers, then the tailed bytes)."""

    media_type = "application/octet-stream"

    def __init__(self, fetch_id, digest, size, spool, upstream):
        self.fetch_id, self.digest, self.size, self.upstream = fetch_id, digest, size, upstream
        self.file = open(spool, "rb")  # held from here on: the fetch may rename or unlink the path

    def response(self, headers):
        """The streamed answer; a fetch that fails before its first byte is a 503, not a broken 200."""
        stream = _tail(self.fetch_id, self.digest, self.size, self.file)
        try:
            first = next(stream, b"")
        except FetchFailed as exc:
            raise Unavailable(
                f"fetching the blob from the upstream {self.upstream} failed: {exc}", detail={"digest": self.digest}
            ) from None
        response = StreamingHttpResponse(itertools.chain([first], stream))
        for key, value in headers.items():
            response[key] = value
        if self.size is not None:
            response["Content-Length"] = str(self.size)
        return response


def spool_dir():
    path = settings.DATA_DIR / "proxy-spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(route, digest):
    """A Fetching for the digest: this process fetches it, or follows the fetch already running."""
    digests.parse(digest)
    for _ in range(3):
        row = _claim(digest)
        if row is not None:
            landed = _landed_meanwhile(route, digest)
            if landed is not None:  # a fetch finished between our look and our claim
                BlobFetch.objects.filter(pk=row.pk).delete()
                return landed
            return _lead(route, digest, row)
        current = BlobFetch.objects.filter(digest=digest).first()
        if current is None:
            continue  # finished or failed meanwhile
        if _stale(current):
            BlobFetch.objects.filter(pk=current.pk, heartbeat_at=current.heartbeat_at).delete()
            continue
        following = _follow(current, route.proxy.upstream_url)
        if following is not None:
            return following
        if Blob.objects.filter(digest=digest).exists():
            from proxy import reads

            return reads.stat_blob(route.name, digest)
    raise Unavailable(f"fetching {digest} from the upstream {route.proxy.upstream_url} did not settle, retry")


def _landed_meanwhile(route, digest):
    from proxy import reads

    try:
        return blobs.stat(route.name, digest)
    except BlobUnknown:
        pass
    known = Blob.objects.filter(digest=digest).first()
    if known is None or not reads.referenced(route, digest):
        return None
    try:
        return blobs.link(route.name, digest, known.size, verify_bytes=True)
    except BlobUnknown:
        return None


def _claim(digest):
    spool = str(spool_dir() / f"{digest.replace(':', '-')}.{uuid.uuid4().hex}")
    try:
        with transaction.atomic():
            return BlobFetch.objects.create(digest=digest, spool=spool, owner=OWNER, heartbeat_at=timezone.now())
    except IntegrityError:
        return None


def _stale(row):
    host, _, pid = row.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
        return True
    return (timezone.now() - row.heartbeat_at).total_seconds() > STALE_SECONDS


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lead(route, digest, row):
    reg = upstream.client(route.proxy)
    try:
        remote = reg.open_blob(route.upstream_name, digest)
    except remote_errors.RemoteError as exc:
        BlobFetch.objects.filter(pk=row.pk).delete()
        raise upstream.translate(exc, route, "blob", digest) from None
    except BaseException:
        BlobFetch.objects.filter(pk=row.pk).delete()
        raise
    BlobFetch.objects.filter(pk=row.pk).update(size=remote.size, heartbeat_at=timezone.now())
    open(row.spool, "wb").close()  # followers wait for it: from now on, size is known
    _local[row.pk] = _Progress()
    _THREADS.run(_download, route, digest, row, remote)
    upstream.count("berth_proxy_blob_fetches", "Blobs fetched from upstream", route)
    return Fetching(row.pk, digest, remote.size, row.spool, route.proxy.upstream_url)


def _follow(row, upstream):
    """Wait until the leader created the spool (size known); None when the fetch ended meanwhile."""
    deadline = time.monotonic() + STALE_SECONDS
    while time.monotonic() < deadline:
        if os.path.exists(row.spool):
            current = BlobFetch.objects.filter(pk=row.pk).first()
            if current is None:
                return None
            try:
                return Fetching(row.pk, row.digest, current.size, row.spool, upstream)
            except FileNotFoundError:  # committed or failed just now
                return None
        if not BlobFetch.objects.filter(pk=row.pk).exists():
            return None
        time.sleep(ROW_CHECK_SECONDS)
    return None


class _Progress:
    """A fetch this process runs, as its local tailers see it (others poll the file and the row)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.written = 0
        self.verified = False  # every byte is in the spool and matched the digest
        self.done = False

    def update(self, written=None, verified=False, done=False):
        with self.cond:
            if written is not None:
                self.written = written
            self.verified = self.verified or verified
            self.done = self.done or done
            self.cond.notify_all()


def _download(route, digest, row, remote):
    """The fetch thread: upstream -> spool, then commit if the digest and size match.

    The remote blob hashes the bytes as they pass and raises DigestMismatch (or RemoteUnavailable
    on a short body) before its iteration ends (remote/blobs.py): a loop that completes had the
    right bytes. Only then do tailers get the last byte, and the spool is committed.
    """
    progress = _local[row.pk]
    received, beat = 0, time.monotonic()
    try:
        try:
            with open(row.spool, "ab", buffering=0) as fh:
                out = writeback.Writer(fh, 0)  # the commit's fsync then waits only for the tail
                for chunk in remote:
                    out.write(chunk)
                    received += len(chunk)
                    progress.update(written=received)
                    if time.monotonic() - beat > HEARTBEAT_SECONDS:
                        beat = time.monotonic()
                        BlobFetch.objects.filter(pk=row.pk).update(received=received, heartbeat_at=timezone.now())
        finally:
            remote.close()
        if remote.size is not None and received != remote.size:
            raise remote_errors.RemoteUnavailable(f"truncated: {received} of {remote.size} bytes", reg_url(route))
        progress.update(verified=True)
        BlobFetch.objects.filter(pk=row.pk).update(received=received, verified=True, heartbeat_at=timezone.now())
        _commit(route, digest, row.spool, received)
        upstream.count("berth_proxy_upstream_bytes", "Blob bytes downloaded from upstreams", route, received)
    except Exception as exc:
        logger.warning("fetching %s for %s from %s failed: %s", digest, route.name, route.proxy.upstream_url, exc)
        upstream.count_error(route, exc)
        if not progress.verified:
            _discard(row.spool)  # tailers holding it open see a short file and abort
        else:
            _discard(row.spool, truncate=False)  # good bytes a tailer may still be reading
    finally:
        BlobFetch.objects.filter(pk=row.pk).delete()
        progress.update(done=True)
        _local.pop(row.pk, None)


def reg_url(route):
    return route.proxy.upstream_url


def _discard(spool, truncate=True):
    try:
        if truncate:
            os.truncate(spool, 0)
        os.unlink(spool)
    except FileNotFoundError:
        pass


def _commit(route, digest, spool, size):
    """The verified spool -> staging of an upload -> committed blob linked to the cached repository."""
    store.cached_repository(route)
    upload = Upload.objects.create(repository_name=route.name)
    upload_staging.create(upload.uuid)
    adapter = blobstore.adapter()
    moved = False
    if adapter.supports_append:
        try:
            os.replace(spool, adapter.local_path(paths.upload(upload.uuid)))
            moved = True
        except OSError:  # another file system: copy below
            pass
    if not moved:
        upload_staging.append(upload.uuid, 0, _blocks(spool))
        os.unlink(spool)
    uploads.commit(upload, digest, size)
    store.add_size(route.name, size)


def _blocks(path):
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            yield block


def _tail(fetch_id, digest, size, fh):
    """The spool's bytes as they arrive; the last byte only once they all matched the digest."""
    progress = _local.get(fetch_id)
    watch = _LocalWatch(progress) if progress is not None else _RowWatch(fetch_id, digest)
    with fh:
        sent = 0
        while True:
            verified = watch.verified
            room = BLOCK if size is None or verified else min(BLOCK, size - 1 - sent)
            data = fh.read(room) if room > 0 else b""
            if data:
                sent += len(data)
                yield data
                continue
            if verified:
                if size is not None and sent != size:
                    raise FetchFailed(f"the fetch of {digest} ended short ({sent} of {size} bytes)")
                return
            watch.wait(sent, room)


class _LocalWatch:
    def __init__(self, progress):
        self.progress = progress

    @property
    def verified(self):
        return self.progress.verified

    def wait(self, sent, room):
        progress = self.progress
        with progress.cond:
            while not (progress.verified or progress.done or (room > 0 and progress.written > sent)):
                progress.cond.wait(HEARTBEAT_SECONDS)
            if progress.done and not progress.verified:
                raise FetchFailed("the fetch failed")


class _RowWatch:
    """A fetch run by another process: the file is polled, the row looked at a few times a second."""

    def __init__(self, fetch_id, digest):
        self.fetch_id, self.digest = fetch_id, digest
        self.verified = False
        self.checked = 0.0

    def wait(self, sent, room):
        now = time.monotonic()
        if now - self.checked < ROW_CHECK_SECONDS:
            time.sleep(POLL_SECONDS)
            return
        self.checked = now
        row = BlobFetch.objects.filter(pk=self.fetch_id).values_list("verified", "heartbeat_at").first()
        if row is None:  # finished: committed (all bytes were good), or failed
            if not Blob.objects.filter(digest=self.digest).exists():
                raise FetchFailed(f"the fetch of {self.digest} failed")
            self.verified = True
        elif row[0]:
            self.verified = True
        elif (timezone.now() - row[1]).total_seconds() > STALE_SECONDS:
            raise FetchFailed(f"the fetch of {self.digest} stalled")
