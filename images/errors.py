"""The error catalog: one class per OCI distribution-spec error code.

Services raise these; each API renders them once (v2 as the spec's JSON
envelope, v1 as {"error": message}). No Django imports here.
"""


class RegistryError(Exception):
    code = "UNKNOWN"
    status = 500
    message = "unknown error"

    def __init__(self, message=None, detail=None, headers=None):
        self.message = message or self.message
        self.detail = detail
        self.headers = headers or {}
        super().__init__(self.message)

    def as_dict(self):
        return {"code": self.code, "message": self.message, "detail": self.detail}


def _error(name, code, status, message):
    return type(name, (RegistryError,), {"code": code, "status": status, "message": message})


BlobUnknown = _error("BlobUnknown", "BLOB_UNKNOWN", 404, "blob unknown to registry")
BlobUploadInvalid = _error("BlobUploadInvalid", "BLOB_UPLOAD_INVALID", 400, "blob upload invalid")
BlobUploadUnknown = _error("BlobUploadUnknown", "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry")
DigestInvalid = _error("DigestInvalid", "DIGEST_INVALID", 400, "provided digest did not match uploaded content")
ManifestBlobUnknown = _error(
    "ManifestBlobUnknown", "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob unknown to the registry"
)
ManifestInvalid = _error("ManifestInvalid", "MANIFEST_INVALID", 400, "manifest invalid")
ManifestUnknown = _error("ManifestUnknown", "MANIFEST_UNKNOWN", 404, "manifest unknown")
NameInvalid = _error("NameInvalid", "NAME_INVALID", 400, "invalid repository name")
NameUnknown = _error("NameUnknown", "NAME_UNKNOWN", 404, "repository name not known to registry")
SizeInvalid = _error("SizeInvalid", "SIZE_INVALID", 400, "provided length did not match content length")
Unauthorized = _error("Unauthorized", "UNAUTHORIZED", 401, "authentication required")
Denied = _error("Denied", "DENIED", 403, "requested access to the resource is denied")
Unsupported = _error("Unsupported", "UNSUPPORTED", 405, "the operation is unsupported")
TooManyRequests = _error("TooManyRequests", "TOOMANYREQUESTS", 429, "too many requests")
RangeInvalid = _error("RangeInvalid", "RANGE_INVALID", 416, "requested range not satisfiable")
TagInvalid = _error("TagInvalid", "TAG_INVALID", 400, "manifest tag did not match URI")
PayloadTooLarge = _error("PayloadTooLarge", "SIZE_INVALID", 413, "payload too large")
Unavailable = _error("Unavailable", "UNAVAILABLE", 503, "service temporarily unavailable, retry later")
StorageFull = _error("StorageFull", "UNAVAILABLE", 507, "registry storage is full, retry when space is freed")
# Refused by the HTTP server before a view runs (registry_site/server/gunicorn_errors.py); `reason`: the status line's.
RequestLineTooLong = type(
    "RequestLineTooLong",
    (_error("RequestLineTooLong", "URI_TOO_LONG", 414, "request line is longer than the server accepts"),),
    {"reason": "URI Too Long"},
)
RequestHeadersTooLarge = type(
    "RequestHeadersTooLarge",
    (_error("RequestHeadersTooLarge", "HEADERS_TOO_LARGE", 431, "request headers are larger than the server accepts"),),
    {"reason": "Request Header Fields Too Large"},
)
PaginationInvalid = _error("PaginationInvalid", "PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested")

# Legacy v1 API (V1_PROTOCOL.md): rendered as {"error": message}; the messages are
# what Docker 1.x clients match on, the codes are for logs and tests.
ImageIdInvalid = _error("ImageIdInvalid", "IMAGE_ID_INVALID", 404, "Invalid image ID")
ImageUnknown = _error("ImageUnknown", "IMAGE_UNKNOWN", 404, "Image not found")
ImageExists = _error("ImageExists", "IMAGE_EXISTS", 409, "Image already exists")
ImageIncomplete = _error("ImageIncomplete", "IMAGE_INCOMPLETE", 400, "Image is being uploaded, retry later")
ImageInvalid = _error("ImageInvalid", "IMAGE_INVALID", 400, "Invalid JSON")
ParentUnknown = _error("ParentUnknown", "PARENT_UNKNOWN", 400, "Image depends on a non existing parent")
LayerInvalid = _error("LayerInvalid", "LAYER_INVALID", 400, "Invalid layer: not a valid gzip stream")
ChecksumInvalid = _error("ChecksumInvalid", "CHECKSUM_INVALID", 400, "Checksum mismatch")
ChecksumConflict = _error("ChecksumConflict", "CHECKSUM_CONFLICT", 409, "Cannot set this image checksum")
ChecksumMissing = _error(
    "ChecksumMissing",
    "CHECKSUM_MISSING",
    412,
    "X-Docker-Checksum-Payload not set.  "
    "If you are using the Docker daemon, you should upgrade to version 0.10 or later",
)
ClientTooOld = _error(
    "ClientTooOld", "CLIENT_TOO_OLD", 412, "This endpoint does not support Docker daemons older than 0.10"
)
DataInvalid = _error("DataInvalid", "DATA_INVALID", 400, "Invalid data")
TagUnknown = _error("TagUnknown", "TAG_UNKNOWN", 404, "Tag not found")
