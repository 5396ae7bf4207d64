"""Upload staging: the bytes of upload sessions, hashed as they are written.

On the filesystem an upload is one file appended in place. On object stores
(S3, Azure, Swift) each PATCH is its own object, `uploads/<uuid>/<offset>`,
written as a streamed (multipart) upload, so any server process can take the
next chunk; completing concatenates them server-side or streamed.

A sha256 state cannot be persisted, so the running hasher of each session is
cached in this process. Its digest so far is recorded with the session's offset
(images/services/uploads.py), so a final PUT in another process checks against
that; only when a chunk landed where the hash could not be continued are the
staged bytes re-hashed once (streamed).
"""

import os
import threading
from collections import OrderedDict

from images import digests
from storage_backends import blobstore, paths, writeback

_CACHE_LIMIT = 512
_hashers = OrderedDict()
_lock = threading.Lock()


def _remember(upload_id, offset, hasher):
    with _lock:
        _hashers[str(upload_id)] = (offset, hasher)
        _hashers.move_to_end(str(upload_id))
        while len(_hashers) > _CACHE_LIMIT:
            _hashers.popitem(last=False)


def _recall(upload_id, offset, algorithm):
    """The running hasher of the first `offset` bytes, if this process has it (any process has the
    hasher of no bytes: a first chunk served by another worker than the POST is still hashed)."""
    with _lock:
        entry = _hashers.get(str(upload_id))
    if entry and entry[0] == offset and entry[1].name == algorithm:
        return entry[1].copy()
    return digests.hasher(algorithm) if offset == 0 else None


def _parts(upload_id):
    """[(offset, name)] of an object-store upload, in order."""
    names = blobstore.adapter().list(paths.upload_dir(upload_id))
    return sorted((offset, name) for name in names if (offset := paths.upload_part_offset(name)) is not None)


def create(upload_id):
    store = blobstore.adapter()
    if store.supports_append:
        store.create_empty(paths.upload(upload_id))
    _remember(upload_id, 0, digests.hasher())


def is_present(upload_id):
    store = blobstore.adapter()
    return store.exists(paths.upload(upload_id)) if store.supports_append else True


def _hashing(blocks, hasher, counter):
    for block in blocks:
        if hasher is not None:
            hasher.update(block)
        counter[0] += len(block)
        yield block


def append(upload_id, offset, blocks):
    """Write the blocks at `offset`; return the new offset.

    Nothing past `offset` is removed first: a request that a client gave up on may still be writing
    when its retry (on this or another instance) has already moved the session on, and removing "the
    tail" would then remove the retry's newer bytes. What lies past the recorded offset is never read
    (reads, hashes and promote take exactly the recorded size), and a chunk written again at the same
    offset carries the same bytes (a retry) and replaces what is there (in place, or the part of that name).
    """
    store = blobstore.adapter()
    hasher = _recall(upload_id, offset, digests.DEFAULT_ALGORITHM)
    counter = [0]
    if store.supports_append:
        with open(store.local_path(paths.upload(upload_id)), "r+b") as fh:
            fh.seek(offset)
            out = writeback.Writer(fh, offset)
            for block in _hashing(blocks, hasher, counter):
                out.write(block)
    else:
        part = paths.upload_part(upload_id, offset)
        store.write(part, _hashing(blocks, hasher, counter))
        if not counter[0]:
            store.delete(part)  # an empty part would only break ranged reads later
    if hasher is not None:
        _remember(upload_id, offset + counter[0], hasher)
    return offset + counter[0]


def _staged_blocks(upload_id, size):
    store = blobstore.adapter()
    if store.supports_append:
        if size:
            yield from store.read(paths.upload(upload_id), 0, size - 1)
        return
    for start, name in _parts(upload_id):
        if start < size:
            yield from store.read(name, 0, size - start - 1)


def running_digest(upload_id, offset):
    """The digest of the first `offset` bytes from this process's running hash, or "" when it has none."""
    hasher = _recall(upload_id, offset, digests.DEFAULT_ALGORITHM)
    return digests.of_hasher(hasher) if hasher is not None else ""


def digest_of(upload_id, size, algorithm=digests.DEFAULT_ALGORITHM, known=""):
    """The digest of the first `size` staged bytes: the cached hasher, else `known` (a running_digest
    recorded by the process that wrote them) when of this algorithm, else one streamed re-hash."""
    hasher = _recall(upload_id, size, algorithm)
    if hasher is None and known.startswith(algorithm + ":"):
        return known
    if hasher is None:
        hasher = digests.hasher(algorithm)
        for block in _staged_blocks(upload_id, size):
            hasher.update(block)
    return digests.of_hasher(hasher)


def promote(upload_id, digest, size):
    """Give the first `size` staged bytes their content address (discard the staging after the rows).

    The digest was checked without reading the bytes back (a running or recorded hash), so the
    staging must hold exactly those bytes: a torn tail that a failed chunk left past `size` is cut
    off, and staging that is gone or short raises FileNotFoundError before anything is written.
    """
    store = blobstore.adapter()
    if store.supports_append:
        staged = store.local_path(paths.upload(upload_id))
        if os.path.getsize(staged) < size:  # (FileNotFoundError when gone)
            raise FileNotFoundError(f"staged bytes of upload {upload_id} are shorter than {size}")
        os.truncate(staged, size)
        blobstore.promote(paths.upload(upload_id), digest)
    elif not blobstore.exists(digest):
        _assemble(store, upload_id, paths.blob(digest), size)
    # The staging stays until the caller has committed the rows (then discard): a commit interrupted
    # between the two is retried against whole staging, never against half-deleted parts.


def _assemble(store, upload_id, target, size):
    """Object stores: the parts, in order, as one object of `size` bytes (else nothing is left)."""
    parts = [name for start, name in _parts(upload_id) if start < size]  # a torn tail past size is not ours
    if size and not parts:
        raise FileNotFoundError(f"staged bytes of upload {upload_id} are gone")
    if len(parts) == 1:
        store.copy(parts[0], target)
    else:
        store.concat(parts, target)
    if store.size(target) != size:
        store.delete(target)
        raise FileNotFoundError(f"staged bytes of upload {upload_id} are not {size} bytes")


def iter_staged():
    """Yield (upload id, bytes, newest modification epoch seconds) of every staging area in storage."""
    found = {}
    for name, size, modified in blobstore.adapter().walk(paths.UPLOADS_ROOT):
        upload_id = paths.upload_id_of(name)
        if upload_id is None:
            continue
        total, newest = found.get(upload_id, (0, 0.0))
        found[upload_id] = (total + size, max(newest, modified))
    for upload_id, (total, newest) in sorted(found.items()):
        yield upload_id, total, newest


def discard(upload_id):
    with _lock:
        _hashers.pop(str(upload_id), None)
    store = blobstore.adapter()
    if store.supports_append:
        store.delete(paths.upload_dir(upload_id))
    else:
        for _, name in _parts(upload_id):
            store.delete(name)
