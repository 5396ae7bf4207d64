"""v1 images: JSON (with ancestry), the layer (hashed while it streams in), checksum.

An image is "in progress" from PUT json until PUT checksum matches the payload
checksum computed when the layer arrived; until then it is never served.
"""

from django.db import IntegrityError, transaction

from images import v1_format
from images.errors import (
    ChecksumConflict,
    ChecksumInvalid,
    ChecksumMissing,
    ClientTooOld,
    DataInvalid,
    ImageExists,
    ImageIncomplete,
    ImageUnknown,
    ParentUnknown,
)
from images.models import V1Image
from images.services import uploads

# Upload.repository_name of v1 staging areas; no registry name starts with "_". A generated config is
# charged to no quota (policies skip "_internal/"), as it was never pushed.
STAGING_PREFIX = "_v1/"
CONFIG_STAGING = "_internal/v1-config"
_RESET = {"layer": None, "size": None, "checksum": "", "tarsum": "", "diff_id": "", "completed": False}


def get(image_id):
    """The image row (complete or not), or 404: Invalid image ID / Image not found."""
    v1_format.check_image_id(image_id)
    image = V1Image.objects.select_related("layer").filter(image_id=image_id).first()
    if image is None:
        raise ImageUnknown()
    return image


def get_completed(image_id):
    image = get(image_id)
    if not image.completed:
        raise ImageIncomplete()
    return image


def nothing_hidden(image_ids):
    """The default `unreadable(ids)` of the push functions: every image may be used (an open registry)."""
    return set()


def put_json(image_id, raw, unreadable=nothing_hidden):
    """Store the exact JSON bytes and the ancestry; the image is (again) in progress.

    A parent the pusher may not read (`unreadable(ids)`) is an unknown parent.
    """
    v1_format.check_image_id(image_id)
    _, parent_id = v1_format.parse_image_json(raw, image_id)
    if parent_id is not None and unreadable([parent_id]):
        raise ParentUnknown()
    try:
        return _put_json(image_id, raw, parent_id)
    except IntegrityError:  # the same image created concurrently: decide again against that row
        return _put_json(image_id, raw, parent_id)


def _put_json(image_id, raw, parent_id):
    with transaction.atomic():
        parent = None
        if parent_id is not None:
            parent = V1Image.objects.filter(image_id=parent_id).first() if v1_format.is_image_id(parent_id) else None
            if parent is None:
                raise ParentUnknown()
            if image_id in parent.ancestry:
                raise ParentUnknown("Image cannot be its own ancestor")
        ancestry = [image_id] + (parent.ancestry if parent else [])
        image = V1Image.objects.select_for_update().filter(image_id=image_id).first()
        if image is None:
            with transaction.atomic():
                return V1Image.objects.create(image_id=image_id, json=raw, parent=parent, ancestry=ancestry, **_RESET)
        if image.completed:
            raise ImageExists()
        moved = image.ancestry != ancestry
        for key, value in {"json": raw, "parent": parent, "ancestry": ancestry, **_RESET}.items():
            setattr(image, key, value)
        image.save()
        if moved:
            _refresh_descendants(image)
        return image


def _refresh_descendants(image):
    """A retried in-progress image got another parent: its children's ancestry follows."""
    stack = [image]
    while stack:
        node = stack.pop()
        for child in V1Image.objects.filter(parent=node).only("id", "image_id", "ancestry"):
            child.ancestry = [child.image_id] + node.ancestry
            child.save(update_fields=["ancestry"])
            stack.append(child)


def put_layer(image_id, blocks, user_agent=""):
    """Stream the layer into the blob store, computing payload checksum and diff_id on the way."""
    v1_format.check_image_id(image_id)
    if v1_format.client_too_old(user_agent):
        raise ClientTooOld()
    image = get(image_id)
    if image.completed:
        raise ImageExists()
    attach = _Attach(image, bytes(image.json))
    blob = _v1_blob(f"{STAGING_PREFIX}{image_id}", attach.digester.wrap(blocks), attach)
    return blob, attach.checksum


def _v1_blob(staging_name, blocks, attach=None):
    """The blocks as a blob of no repository, through an upload session (uploads.commit_layer)."""
    upload = uploads.start(staging_name)
    try:
        uploads.append(upload, blocks)
        if attach is not None:
            attach.streamed()  # LAYER_INVALID before anything is committed
        return uploads.commit_layer(upload, attach)
    except BaseException:
        uploads.cancel(upload)
        raise


class _Attach:
    """Sets the layer on its image in the rows' transaction, with the sums computed while it streamed in."""

    def __init__(self, image, image_json):
        self.image, self.image_json = image, image_json
        self.digester = v1_format.LayerDigester(image_json)
        self.checksum = self.diff_id = None

    def streamed(self):
        self.checksum, self.diff_id = self.digester.finish()

    def __call__(self, blob):
        current = V1Image.objects.select_for_update().get(pk=self.image.pk)
        if current.completed:
            raise ImageExists()
        if bytes(current.json) != self.image_json:
            raise ImageIncomplete("Image JSON changed during the layer upload, retry")
        current.layer, current.size = blob, blob.size
        current.checksum, current.diff_id = self.checksum, self.diff_id
        current.save(update_fields=["layer", "size", "checksum", "diff_id", "updated_at"])


def store_bytes(data):
    """A small blob (an image config) from memory, as any v1 blob. Idempotent."""
    return _v1_blob(CONFIG_STAGING, [data])


def put_checksum(image_id, payload, tarsum=""):
    """Complete the image if the client's payload checksum is the one computed at PUT layer."""
    v1_format.check_image_id(image_id)
    if payload is None:
        raise ChecksumMissing()
    payload = payload.strip()
    if not payload:
        raise DataInvalid("Missing Image's checksum")
    image = get(image_id)
    if image.completed:
        raise ChecksumConflict()
    if not image.checksum or payload != image.checksum:
        raise ChecksumInvalid()
    with transaction.atomic():
        done = V1Image.objects.filter(pk=image.pk, completed=False, checksum=payload).update(
            completed=True, tarsum=(tarsum or "")[:200]
        )
    if not done:
        raise ChecksumConflict()
    return image


def layer_blob(image):
    """The layer Blob of a completed image, or 404 Image not found."""
    if image.layer is None:
        raise ImageUnknown()
    return image.layer
