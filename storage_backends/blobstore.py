"""Blob bytes in the registry storage (`STORAGES["registry"]`, via django-storages).

Knows bytes and object names, nothing about HTTP or repositories. Reads and
writes stream through the backend's adapter (storage_backends/adapters).
"""

import weakref

from django.core.files.storage import storages

from storage_backends import adapters, paths
from storage_backends.adapters.base import BlockReader

_adapters = weakref.WeakKeyDictionary()


def storage():
    return storages["registry"]


def adapter():
    """The streaming adapter of the current registry storage (cached per storage instance)."""
    store = storage()
    found = _adapters.get(store)
    if found is None:
        found = _adapters[store] = adapters.for_storage(store)
    return found


def local_path(name):
    """Filesystem path of an object, or None when the backend is not local."""
    return adapter().local_path(name)


def exists(digest):
    return adapter().exists(paths.blob(digest))


def size(digest):
    return adapter().size(paths.blob(digest))


def blob_path(digest):
    """The blob's file on the filesystem backend (for a FileResponse), else None."""
    return local_path(paths.blob(digest))


def open_blob(digest):
    """A read()-able file object over the blob (a real file on the filesystem backend)."""
    path = blob_path(digest)
    if path is not None:
        return open(path, "rb")
    return BlockReader(adapter().read(paths.blob(digest)))


def read_blob(digest, start=0, end=None):
    """Yield the blob's bytes start..end (inclusive), streamed."""
    return adapter().read(paths.blob(digest), start, end)


def write_blob(digest, blocks):
    """Store a verified blob from byte blocks (small content such as generated configs)."""
    adapter().write(paths.blob(digest), blocks)


def delete(digest):
    adapter().delete(paths.blob(digest))


def iter_blobs():
    """Yield (digest, size, modified epoch seconds) of every content object; stray names are skipped."""
    for name, size, modified in adapter().walk(paths.BLOBS_ROOT):
        digest = paths.digest_of_blob(name)
        if digest is not None:
            yield digest, size, modified


def quarantine(digest):
    """Move the blob's bytes aside to quarantine/ (copy, then delete); return the quarantine name."""
    store = adapter()
    target = paths.quarantine(digest)
    store.copy(paths.blob(digest), target)
    store.delete(paths.blob(digest))
    return target


def redirect_url(digest, expires=600):
    """A presigned URL for the blob where the backend can make one, else None."""
    return adapter().url(paths.blob(digest), expires)


def promote(source_name, digest):
    """Move finished upload bytes to their content address. Idempotent."""
    store = adapter()
    target = paths.blob(digest)
    if store.supports_append:
        store.move(source_name, target)
        return
    if not store.exists(target):
        store.copy(source_name, target)
    store.delete(source_name)


def check():
    """Raise when the storage can't be reached or written."""
    adapter().check()
