"""Manifest bodies by digest, kept per process: a digest names its bytes for ever.

A pull looks the tag or digest up in the repository (one row, images/services/manifests.get, kept by the
read cache until the database signals a change: images/services/read_cache.py), with the body when this
process does not hold it yet. That lookup is what sees a tag moved or a manifest deleted by any process
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
TAG_HINTS = 10_000  # (repository, tag) -> the digest it named at its last pull here: only a hint
_bodies = OrderedDict()
_tags = {}
_lock = threading.Lock()
_held = [0]


def holds(digest):
    return digest is not None and digest in _bodies


def last_digest(repository, tag):
    """The digest `tag` named when this process last served it (a guess: the lookup decides), or None."""
    return _tags.get((repository, tag))


def note_tag(repository, tag, digest):
    if len(_tags) >= TAG_HINTS:
        _tags.clear()
    _tags[repository, tag] = digest


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
    return keep(digest, bytes(body))


def keep(digest, body):
    """Hold `body` (the bytes of `digest`) for the next pulls; returns it."""
    if len(body) > LIMIT // 4:
        return body  # a huge index would push out everything else
    with _lock:
        if digest in _bodies:
            return body
        _bodies[digest] = body
        _held[0] += len(body)
        while _held[0] > LIMIT and _bodies:
            _, dropped = _bodies.popitem(last=False)
            _held[0] -= len(dropped)
    return body


def clear():
    with _lock:
        _bodies.clear()
        _tags.clear()
        _held[0] = 0
