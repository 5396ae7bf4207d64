"""Upload staging: append blocks to an upload's scratch object, hashing as we write.

A sha256 state cannot be persisted, so the running hasher of each session is
cached in this process; when the next chunk or the final PUT lands in another
process, the scratch bytes are re-hashed once (streamed) instead.
"""

import os
import shutil
import threading
from collections import OrderedDict

from images import digests
from storage_backends import blobstore, paths

_CACHE_LIMIT = 512
_hashers = OrderedDict()
_lock = threading.Lock()


def _path(upload_id):
    path = blobstore.local_path(paths.upload(upload_id))
    if path is None:
        raise RuntimeError("upload staging needs a storage backend with local paths")
    return path


def _remember(upload_id, offset, hasher):
    with _lock:
        _hashers[str(upload_id)] = (offset, hasher)
        _hashers.move_to_end(str(upload_id))
        while len(_hashers) > _CACHE_LIMIT:
            _hashers.popitem(last=False)


def _recall(upload_id, offset, algorithm):
    with _lock:
        entry = _hashers.get(str(upload_id))
    if entry and entry[0] == offset and entry[1].name == algorithm:
        return entry[1].copy()
    return None


def create(upload_id):
    path = _path(upload_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()
    _remember(upload_id, 0, digests.hasher())


def append(upload_id, offset, blocks):
    """Write the blocks at `offset`; return the new offset. Truncates a torn tail first."""
    path = _path(upload_id)
    hasher = _recall(upload_id, offset, digests.DEFAULT_ALGORITHM)
    written = 0
    with open(path, "r+b") as fh:
        fh.truncate(offset)
        fh.seek(offset)
        for block in blocks:
            fh.write(block)
            if hasher is not None:
                hasher.update(block)
            written += len(block)
    if hasher is not None:
        _remember(upload_id, offset + written, hasher)
    return offset + written


def digest_of(upload_id, size, algorithm=digests.DEFAULT_ALGORITHM):
    """The digest of the first `size` scratch bytes (cached hasher, or one streamed re-hash)."""
    hasher = _recall(upload_id, size, algorithm)
    if hasher is None:
        hasher = digests.hasher(algorithm)
        remaining = size
        with open(_path(upload_id), "rb") as fh:
            while remaining > 0:
                block = fh.read(min(remaining, 1 << 20))
                if not block:
                    break
                hasher.update(block)
                remaining -= len(block)
    return digests.of_hasher(hasher)


def actual_size(upload_id):
    try:
        return os.path.getsize(_path(upload_id))
    except FileNotFoundError:
        return None


def truncate(upload_id, size):
    with open(_path(upload_id), "r+b") as fh:
        fh.truncate(size)


def promote(upload_id, digest):
    blobstore.promote(paths.upload(upload_id), digest)
    discard(upload_id)


def discard(upload_id):
    with _lock:
        _hashers.pop(str(upload_id), None)
    directory = blobstore.local_path(paths.upload_dir(upload_id))
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
