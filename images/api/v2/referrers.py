"""GET /v2/<name>/referrers/<digest> (OCI 1.1): always an image index."""

from rest_framework.response import Response

from images import manifest_formats
from images.api.v2.base import RegistryView
from proxy import reads as proxy_reads


class ReferrersView(RegistryView):
    def get(self, request, name, digest):
        artifact_type = request.query_params.get("artifactType")
        entries = proxy_reads.referrers(name, digest, artifact_type)
        response = Response(
            {"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": entries},
            content_type=manifest_formats.OCI_INDEX,
        )
        if artifact_type:
            response["OCI-Filters-Applied"] = "artifactType"
        return response
