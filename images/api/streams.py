"""Request bodies for the views: blocks counted for the metrics, small bodies read with a limit.

How a body is read from the server that runs Berth (gunicorn's private readers, runserver, any WSGI
server) is registry_site/server/bodies.py's business: `iter_body` is the one function views call.
"""

from images.conf import registry_setting
from registry_site.server import bodies
from registry_site.server.bodies import content_length, is_chunked

__all__ = ["content_length", "has_body", "is_chunked", "iter_body", "read_limited"]


def has_body(request):
    length = content_length(request.META)
    return is_chunked(request.META) or bool(length)


BYTES_IN_KEY = "berth.bytes_in"  # bytes read so far, for the request metrics (images/middleware.py)


def iter_body(request, block_size=None):
    """Yield the request body in blocks of at most `block_size` bytes."""
    meta = request.META
    meta.setdefault(BYTES_IN_KEY, 0)
    for block in bodies.blocks(meta, block_size or registry_setting("IO_BLOCK_SIZE")):
        meta[BYTES_IN_KEY] += len(block)
        yield block


def read_limited(request, limit, error):
    """Read a small body (a manifest) into memory, refusing more than `limit` bytes."""
    parts, total = [], 0
    for block in iter_body(request, block_size=min(limit + 1, 1 << 20)):
        total += len(block)
        if total > limit:
            raise error
        parts.append(block)
    return b"".join(parts)
