"""The one place where object names in the registry storage are built.

blobs/<algorithm>/<first two hex>/<hex>    content, one object per digest
uploads/<uuid>/data                        bytes of an upload session in progress
quarantine/<algorithm>/<hex>               blobs found corrupt by verify_blobs
"""


def blob(digest):
    algorithm, encoded = digest.split(":", 1)
    return f"blobs/{algorithm}/{encoded[:2]}/{encoded}"


def upload(upload_id):
    return f"uploads/{upload_id}/data"


def upload_dir(upload_id):
    return f"uploads/{upload_id}"


def quarantine(digest):
    algorithm, encoded = digest.split(":", 1)
    return f"quarantine/{algorithm}/{encoded}"
