"""The one place where object names in the registry storage are built.

blobs/<algorithm>/<first two hex>/<hex>    content, one object per digest
uploads/<uuid>/data                        bytes of an upload session in progress (filesystem)
uploads/<uuid>/<offset, 16 digits>         one part of it per PATCH (object stores)
quarantine/<algorithm>/<hex>               blobs found corrupt by verify_blobs
"""

import re

BLOBS_ROOT = "blobs"
UPLOADS_ROOT = "uploads"
_BLOB_NAME = re.compile(r"^blobs/([a-z0-9]+)/([0-9a-f]{2})/([0-9a-f]{32,})$")


def blob(digest):
    algorithm, encoded = digest.split(":", 1)
    return f"blobs/{algorithm}/{encoded[:2]}/{encoded}"


def digest_of_blob(name):
    """The digest a content object name stands for, or None for anything else (temporary files, strays)."""
    match = _BLOB_NAME.match(name)
    if not match or not match.group(3).startswith(match.group(2)):
        return None
    return f"{match.group(1)}:{match.group(3)}"


def upload_id_of(name):
    """The upload uuid of an object under uploads/, or None."""
    parts = name.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == UPLOADS_ROOT and parts[1] else None


def upload(upload_id):
    return f"uploads/{upload_id}/data"


def upload_dir(upload_id):
    return f"uploads/{upload_id}"


def upload_part(upload_id, offset):
    """The object holding an upload's bytes from `offset` on an object store (one per PATCH)."""
    return f"{upload_dir(upload_id)}/{offset:016d}"


def upload_part_offset(name):
    """The offset an upload part's name stands for, or None for any other name."""
    last = name.rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else None


def quarantine(digest):
    algorithm, encoded = digest.split(":", 1)
    return f"quarantine/{algorithm}/{encoded}"
