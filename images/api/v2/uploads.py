"""Blob uploads: POST (session, monolithic, mount), PATCH, PUT, GET status, DELETE."""

import re

from images import digests, permissions, references
from images.api import streams
from images.api.responses import empty
from images.api.v2.base import RegistryView
from images.errors import BlobUploadInvalid, NameInvalid, RangeInvalid
from images.services import blobs, uploads

_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


def upload_location(name, upload):
    return f"/v2/{name}/blobs/uploads/{upload.uuid}"


def progress(name, upload, status):
    return empty(
        status,
        {
            "Location": upload_location(name, upload),
            "Range": uploads.range_header(upload.offset),
            "Docker-Upload-UUID": str(upload.uuid),
        },
    )


def created(name, digest):
    return empty(201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})


def parse_content_range(header):
    """(start, end) from a PATCH Content-Range, or RANGE_INVALID."""
    match = _CONTENT_RANGE.match(header.strip())
    if not match:
        raise RangeInvalid("invalid Content-Range", detail={"Content-Range": header[:100]})
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise RangeInvalid("invalid Content-Range", detail={"Content-Range": header[:100]})
    return start, end


def chunk_start(request):
    """Where a chunk's Content-Range says it starts (None without one); it must agree with Content-Length."""
    header = request.META.get("HTTP_CONTENT_RANGE")
    if not header:
        return None
    start, end = parse_content_range(header)
    length = streams.content_length(request.META)
    if length is not None and length != end - start + 1:
        raise RangeInvalid("Content-Range does not match Content-Length")
    return start


def _readable_source(view, source):
    """The canonical name of a mount source the caller may pull, else None (never says why)."""
    try:
        source = references.canonical_name(source)
    except NameInvalid:
        return None
    return source if view.allows(source, permissions.PULL) else None


class UploadStartView(RegistryView):
    def post(self, request, name):
        mount, source = request.query_params.get("mount"), request.query_params.get("from")
        if mount and source:
            digests.parse(mount)
            # Mounting needs pull on `from`; otherwise (or when it's missing) the client just uploads.
            source = _readable_source(self, source)
            if source and blobs.mount(name, mount, source):
                return created(name, mount)
        digest = request.query_params.get("digest")
        if digest:
            digests.parse(digest)
            upload = uploads.start(name)
            try:
                blob = uploads.complete(
                    upload, digest, streams.iter_body(request), streams.content_length(request.META)
                )
            except Exception:
                uploads.cancel(upload)
                raise
            return created(name, blob.digest)
        # Without ?digest a POST only opens a session; the spec gives its body no meaning.
        return progress(name, uploads.start(name), 202)


class UploadView(RegistryView):
    def get(self, request, name, upload_id):
        return progress(name, uploads.get(name, upload_id), 204)

    def patch(self, request, name, upload_id):
        upload = uploads.get(name, upload_id)
        uploads.append(upload, streams.iter_body(request), start=chunk_start(request))
        return progress(name, upload, 202)

    def put(self, request, name, upload_id):
        digest = request.query_params.get("digest")
        if digest and not streams.has_body(request):
            blob = uploads.complete_staged(name, upload_id, digest)
            if blob is not None:
                return created(name, blob.digest)
        upload = uploads.get(name, upload_id)
        if not digest:
            raise BlobUploadInvalid("digest query parameter is required", detail={"uuid": str(upload.uuid)})
        digests.parse(digest)
        body = streams.iter_body(request) if streams.has_body(request) else None
        blob = uploads.complete(upload, digest, body, start=chunk_start(request) if body is not None else None)
        return created(name, blob.digest)

    def delete(self, request, name, upload_id):
        uploads.cancel(uploads.get(name, upload_id))
        return empty(204)
