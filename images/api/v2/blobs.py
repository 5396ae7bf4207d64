"""GET / HEAD / DELETE /v2/<name>/blobs/<digest>, with Range support."""

import re

from django.http import FileResponse, StreamingHttpResponse

from images.api.v2.base import RegistryView, empty
from images.conf import registry_setting
from images.errors import RangeInvalid
from images.services import blobs
from proxy import reads as proxy_reads

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header, size):
    """Inclusive (start, end) for a single-range header, or RANGE_INVALID (416)."""
    match = _RANGE.match(header.strip())
    invalid = RangeInvalid(headers={"Content-Range": f"bytes */{size}"})
    if not match or match.groups() == ("", ""):
        raise invalid
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0 or size == 0:  # nothing to give: "bytes=-N" of an empty blob would be "0--1/0"
            raise invalid
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise invalid
    return start, end


def blob_headers(blob):
    return {
        "Content-Type": blob.media_type or "application/octet-stream",
        "Docker-Content-Digest": blob.digest,
        "Accept-Ranges": "bytes",
        "ETag": f'"{blob.digest}"',
        "Cache-Control": "max-age=31536000",
    }


def bytes_response(blob, headers, span=None):
    """The blob's bytes: 206 for an inclusive (start, end) span, else all of it (a file on disk)."""
    if span:
        start, end = span
        response = StreamingHttpResponse(blobs.stream(blob, start, end), status=206)
        headers = {
            **headers,
            "Content-Range": f"bytes {start}-{end}/{blob.size}",
            "Content-Length": str(end - start + 1),
        }
    else:
        local = blobs.local_file(blob)
        if local:
            response = FileResponse(local)
            response.block_size = registry_setting("IO_BLOCK_SIZE")  # its reads (Django's default: 4 KiB)
        else:
            response = StreamingHttpResponse(blobs.stream(blob))
        headers = {**headers, "Content-Length": str(blob.size)}
    for key, value in headers.items():
        response[key] = value
    return response


class BlobView(RegistryView):
    def head(self, request, name, digest):
        blob = proxy_reads.stat_blob(name, digest)
        return empty(200, blob_headers(blob), content_length=blob.size)

    def get(self, request, name, digest):
        blob = proxy_reads.stat_blob(name, digest)
        headers = blob_headers(blob)
        if isinstance(blob, proxy_reads.Fetching):  # being fetched from upstream: streamed as it arrives
            return blob.response(headers)
        url = blobs.redirect_url(blob)
        if url:
            return empty(307, {"Location": url, "Docker-Content-Digest": blob.digest})
        internal = blobs.accel_redirect(blob)
        if internal:  # nginx sends the file (and handles Range) itself
            return empty(200, {**headers, "X-Accel-Redirect": internal}, content_length=0)
        range_header = request.META.get("HTTP_RANGE")
        span = parse_range(range_header, blob.size) if range_header else None
        return bytes_response(blob, headers, span)

    def delete(self, request, name, digest):
        blobs.delete(name, digest)
        return empty(202, {"Docker-Content-Digest": digest})
