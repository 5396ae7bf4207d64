"""Manifest bodies by digest, kept per process: a digest names its bytes for ever.

A pull first looks the tag or digest up in the repository (one row, images/services/manifests.get):
that lookup, made at every request, is what sees a tag moved or a manifest deleted by any process
sharing the database. Only the body, which can never change for a digest, comes from here: nothing
has to be told when a manifest is deleted (a deleted manifest is not found by the lookup, so its
cached body is never served; it ages out). The cache holds at most BERTH_MANIFEST_CACHE_BYTES
(default 16 MiB) per process, least recently used first out; 0 turns it off.
"""

import os
import threading
from collections import OrderedDict

from images.errors import ManifestUnknown
from images.models import Manifest

LIMIT = int(os.environ.get("BERTH_MANIFEST_CACHE_BYTES", str(16 << 20)))
_bodies = OrderedDict()
_lock = threading.Lock()
_held = [0]


def get(manifest):
    """The body of `manifest` (a row found by its digest's lookup): from the cache, else read once."""
    digest = manifest.digest
    with _lock:
        body = _bodies.get(digest)
        if body is not None:
            _bodies.move_to_end(digest)
            return body
    body = Manifest.objects.filter(pk=manifest.pk).values_list("payload", flat=True).first()
    if body is None:  # deleted between the lookup and now
        raise ManifestUnknown(detail={"reference": digest})
    body = bytes(body)
    _keep(digest, body)
    return body


def _keep(digest, body):
    if len(body) > LIMIT // 4:
        return  # a huge index would push out everything else
    with _lock:
        if digest in _bodies:
            return
        _bodies[digest] = body
        _held[0] += len(body)
        while _held[0] > LIMIT and _bodies:
            _, dropped = _bodies.popitem(last=False)
            _held[0] -= len(dropped)


def clear():
    with _lock:
        _bodies.clear()
        _held[0] = 0
