"""Blob bytes in the registry storage (django-storages / Django Storage API).

Knows bytes and object names, nothing about HTTP or repositories.
"""

import os

from django.core.files.storage import storages

from storage_backends import paths


def storage():
    return storages["registry"]


def local_path(name):
    """Filesystem path of an object, or None when the backend is not local."""
    try:
        return storage().path(name)
    except NotImplementedError:
        return None


def exists(digest):
    return storage().exists(paths.blob(digest))


def size(digest):
    return storage().size(paths.blob(digest))


def open_blob(digest):
    return storage().open(paths.blob(digest), "rb")


def delete(digest):
    storage().delete(paths.blob(digest))


def promote(source_name, digest):
    """Move finished upload bytes to their content address. Idempotent."""
    target = paths.blob(digest)
    src, dst = local_path(source_name), local_path(target)
    if src is not None and dst is not None:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        return
    store = storage()
    if not store.exists(target):
        with store.open(source_name, "rb") as fh:
            store.save(target, fh)
    store.delete(source_name)
