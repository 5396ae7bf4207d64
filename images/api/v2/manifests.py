"""GET / HEAD / PUT / DELETE /v2/<name>/manifests/<reference>."""

from django.http import HttpResponse

from images import manifest_formats
from images.api import streams
from images.api.responses import empty
from images.api.v2.base import RegistryView
from images.conf import registry_setting
from images.errors import PayloadTooLarge
from images.services import manifests
from proxy import reads as proxy_reads


def _accepted_types(request):
    raw = request.META.get("HTTP_ACCEPT", "")
    return {part.split(";", 1)[0].strip() for part in raw.split(",") if part.strip()}


def negotiate(request, name, manifest):
    """Serve the stored bytes; a client that accepts images but no index gets the linux/amd64 child."""
    accepted = _accepted_types(request)
    if manifest.media_type not in manifest_formats.INDEX_TYPES or not accepted:
        return manifest
    if accepted & set(manifest_formats.INDEX_TYPES) or not accepted & set(manifest_formats.IMAGE_TYPES):
        return manifest
    return manifests.platform_child(name, manifest) or manifest


def manifest_headers(manifest):
    return {
        "Content-Type": manifest.media_type,
        "Docker-Content-Digest": manifest.digest,
        "ETag": f'"{manifest.digest}"',
    }


class ManifestView(RegistryView):
    def head(self, request, name, reference):
        manifest = negotiate(request, name, proxy_reads.get_manifest(name, reference))
        return empty(200, manifest_headers(manifest), content_length=manifest.size)

    def get(self, request, name, reference):
        manifest = negotiate(request, name, proxy_reads.get_manifest(name, reference))
        manifests.record_pull(name, manifest, reference)
        response = HttpResponse(bytes(manifest.payload))
        for key, value in manifest_headers(manifest).items():
            response[key] = value
        response["Content-Length"] = str(manifest.size)
        return response

    def put(self, request, name, reference):
        limit = registry_setting("MAX_MANIFEST_BYTES")
        too_large = PayloadTooLarge("manifest exceeds the size limit", detail={"limit": limit})
        if (streams.content_length(request.META) or 0) > limit:
            raise too_large
        data = streams.read_limited(request, limit, too_large)
        manifest, parsed = manifests.put(name, reference, data, request.META.get("CONTENT_TYPE", ""))
        headers = {"Location": f"/v2/{name}/manifests/{manifest.digest}", "Docker-Content-Digest": manifest.digest}
        if parsed.subject:
            headers["OCI-Subject"] = parsed.subject.digest
        return empty(201, headers)

    def delete(self, request, name, reference):
        manifests.delete(name, reference)
        return empty(202)
