"""What both registry protocols (v2 and v1) answer with: which protocol a path speaks, the JSON-only
content negotiation, bodiless answers and blob bytes (whole, or one Range)."""

import io
import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from rest_framework.negotiation import BaseContentNegotiation

from images.conf import registry_setting
from images.errors import RangeInvalid
from images.services import blobs

V2, V1 = "v2", "v1"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def protocol_of(request):
    """V2 for /v2 and /v2/..., V1 for /v1/..., None for the site's pages."""
    path = request.path_info
    if path.startswith("/v2/") or path == "/v2":
        return V2
    return V1 if path.startswith("/v1/") else None


class RegistryNegotiation(BaseContentNegotiation):
    """Registry clients send manifest media types in Accept; answers are always JSON."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def empty(status, headers=None, content_length=0):
    """A response with no body; HEAD answers keep the real Content-Length."""
    response = HttpResponse(status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    response["Content-Length"] = str(content_length)
    return response


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


def bytes_response(blob, headers, span=None):
    """The blob's bytes: 206 for an inclusive (start, end) span, else all of it. A file on disk goes out as
    a FileResponse (gunicorn copies it through one buffer, or sendfile()), a stored object as a stream."""
    start, end = span or (0, blob.size - 1)
    status = 206 if span else 200
    headers = {**headers, "Content-Length": str(end - start + 1)}
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    local = blobs.local_file(blob)
    if local:
        local.seek(start)
        response = FileResponse(FileSpan(local, end - start + 1) if span else local, status=status)
        response.block_size = registry_setting("IO_BLOCK_SIZE")  # its reads (Django's default: 4 KiB)
    else:
        response = StreamingHttpResponse(blobs.stream(blob, start, end) if span else blobs.stream(blob), status=status)
    for key, value in headers.items():
        response[key] = value
    return response


class FileSpan(io.RawIOBase):
    """`length` bytes of an open file from where it stands: a Range answer's body. Not seekable, so
    Django's FileResponse takes no length of its own from it; fileno() and seek() are the file's, for
    sendfile() (gunicorn's, and the asgi worker's from its loop: both send the response's Content-Length
    from the file's current offset)."""

    def __init__(self, handle, length):
        super().__init__()
        self.handle, self.left = handle, length

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.left <= 0:
            return 0
        size = self.handle.readinto(memoryview(buffer)[: self.left]) or 0
        self.left -= size
        return size

    def fileno(self):
        return self.handle.fileno()

    def seek(self, offset, whence=io.SEEK_SET):
        return self.handle.seek(offset, whence)

    def close(self):
        self.handle.close()
        super().close()
