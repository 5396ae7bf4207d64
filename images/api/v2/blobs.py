"""GET / HEAD / DELETE /v2/<name>/blobs/<digest>, with Range support."""

from images.api.responses import bytes_response, empty, parse_range
from images.api.v2.base import RegistryView
from images.services import blobs
from proxy import reads as proxy_reads


def blob_headers(blob):
    return {
        "Content-Type": blob.media_type or "application/octet-stream",
        "Docker-Content-Digest": blob.digest,
        "Accept-Ranges": "bytes",
        "ETag": f'"{blob.digest}"',
        "Cache-Control": "max-age=31536000",
    }


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
