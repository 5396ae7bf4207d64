"""/v1/images/<id>/json|layer|checksum|ancestry."""

from accounts import registry_auth
from images import v1_format
from images.api import streams
from images.api.responses import bytes_response, empty, parse_range
from images.api.v1.base import V1View, cache_headers, not_modified, read_small, respond, user_agent
from images.errors import ImageUnknown, RangeInvalid
from images.services import blobs, v1_images


class ImageView(V1View):
    """Images are global in v1: they may be read through a repository the caller may pull (§4.7)."""

    def readable(self, image_id):
        image = v1_images.get_completed(image_id)
        if not registry_auth.v1_image_readable(self.caller, image.image_id):
            raise ImageUnknown()
        return image

    def uploading(self):
        registry_auth.require_v1_uploader(self.caller)


class ImageJsonView(ImageView):
    def get(self, request, image_id):
        image = self.readable(image_id)
        headers = cache_headers()
        if image.layer_id is not None:
            headers["X-Docker-Size"] = str(image.size)
        if image.checksum:
            headers["X-Docker-Checksum-Payload"] = image.checksum
        if not_modified(request):
            return empty(304, headers)
        return respond(raw=bytes(image.json), headers=headers)

    def put(self, request, image_id):
        v1_format.check_image_id(image_id)
        self.uploading()
        v1_images.put_json(image_id, read_small(request), self.unreadable_images)
        return respond()


class ImageLayerView(ImageView):
    def get(self, request, image_id):
        image = self.readable(image_id)
        blob = v1_images.layer_blob(image)
        headers = {**cache_headers(), "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if not_modified(request):
            return empty(304, headers)
        url = blobs.redirect_url(blob)
        if url:  # storage_redirect, as the original
            return empty(302, {"Location": url})
        internal = blobs.accel_redirect(blob)
        if internal:  # nginx sends the file (and answers Range) itself
            return empty(200, {**headers, "X-Accel-Redirect": internal})
        range_header = request.META.get("HTTP_RANGE")
        span = None
        if range_header:
            try:
                span = parse_range(range_header, blob.size)
            except RangeInvalid:  # Docker 1.x reads a bare 416 after the last byte as the end
                return empty(416, {**headers, "Content-Range": f"bytes */{blob.size}"})
        return bytes_response(blob, headers, span)

    def put(self, request, image_id):
        self.uploading()
        v1_images.put_layer(image_id, streams.iter_body(request), user_agent(request))
        return respond()


class ImageChecksumView(ImageView):
    def put(self, request, image_id):
        self.uploading()
        meta = request.META
        v1_images.put_checksum(image_id, meta.get("HTTP_X_DOCKER_CHECKSUM_PAYLOAD"), meta.get("HTTP_X_DOCKER_CHECKSUM"))
        return respond()


class ImageAncestryView(ImageView):
    def get(self, request, image_id):
        image = self.readable(image_id)
        headers = cache_headers()
        if not_modified(request):
            return empty(304, headers)
        return respond(image.ancestry, headers=headers)
