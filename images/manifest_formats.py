"""Manifest bytes -> a parsed, validated value object. Pure: no database, no storage."""

import json
from dataclasses import dataclass, field

from images import digests
from images.errors import DigestInvalid, ManifestInvalid

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
SUPPORTED_TYPES = IMAGE_TYPES + INDEX_TYPES
MAX_MEDIA_TYPE_LENGTH = 255  # RFC 6838 (127/127), and the width of the media type columns
MAX_SIZE = 2**63 - 1  # descriptor sizes are stored in 64-bit signed integer columns


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    artifact_type: str = ""
    annotations: dict | None = None

    def as_dict(self):
        out = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = self.annotations
        if self.platform:
            out["platform"] = self.platform
        return out


@dataclass(frozen=True)
class ParsedManifest:
    media_type: str
    digest: str
    size: int
    config: Descriptor | None = None
    layers: tuple = ()
    children: tuple = ()
    subject: Descriptor | None = None
    artifact_type: str = ""
    annotations: dict = field(default_factory=dict)

    @property
    def is_index(self):
        return self.media_type in INDEX_TYPES

    @property
    def effective_artifact_type(self):
        """What the referrers API reports: artifactType, else the config's media type."""
        if self.artifact_type:
            return self.artifact_type
        return self.config.media_type if self.config else ""


def _strip_params(content_type):
    return (content_type or "").split(";", 1)[0].strip().lower()


def _descriptor(raw, where):
    if not isinstance(raw, dict):
        raise ManifestInvalid(f"{where} must be a descriptor object")
    media_type, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}: mediaType missing")
    if len(media_type) > MAX_MEDIA_TYPE_LENGTH:
        raise ManifestInvalid(f"{where}: mediaType is too long")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
        raise ManifestInvalid(f"{where}: size must be a non-negative 64-bit integer")
    try:
        digests.parse(digest)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}: {exc.message}", detail={"digest": str(digest)[:200]}) from None
    platform = raw.get("platform")
    annotations = raw.get("annotations")
    artifact_type = raw.get("artifactType") or ""
    if platform is not None and not isinstance(platform, dict):
        raise ManifestInvalid(f"{where}: platform must be an object")
    if annotations is not None and not isinstance(annotations, dict):
        raise ManifestInvalid(f"{where}: annotations must be an object")
    return Descriptor(media_type, digest, size, platform, str(artifact_type), annotations)


def resolve_media_type(content_type, body):
    declared = body.get("mediaType")
    header = _strip_params(content_type)
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if header and header not in SUPPORTED_TYPES and header not in DOCKER_SCHEMA1:
        # As distribution 3 does (no default type): a client that names a type must name a manifest's.
        raise ManifestInvalid(
            "Content-Type is not a manifest media type", detail={"Content-Type": header[:200], "mediaType": declared}
        )
    if header:
        if declared and declared != header:
            raise ManifestInvalid(
                "mediaType in manifest does not match Content-Type",
                detail={"Content-Type": header, "mediaType": declared[:200]},
            )
        media_type = header
    elif declared:
        media_type = declared  # no Content-Type at all: the body's own type
    else:
        media_type = OCI_INDEX if "manifests" in body else OCI_MANIFEST
    if media_type in DOCKER_SCHEMA1 or body.get("schemaVersion") == 1:
        raise ManifestInvalid("Docker schema 1 manifests are not supported; push schema 2 or OCI")
    if media_type not in SUPPORTED_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    return media_type


def parse(data, content_type=""):
    """Validate manifest bytes and return a ParsedManifest (digest is sha256 of the bytes)."""
    try:
        body = json.loads(bytes(data).decode("utf-8"))  # UTF-8 only (RFC 8259); json.loads(bytes) would take UTF-16/32
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ManifestInvalid("manifest is not valid JSON") from None
    if not isinstance(body, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    media_type = resolve_media_type(content_type, body)
    if body.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    annotations = body.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ManifestInvalid("annotations must be an object")
    artifact_type = str(body.get("artifactType") or "")
    if len(artifact_type) > MAX_MEDIA_TYPE_LENGTH:
        raise ManifestInvalid("artifactType is too long")
    common = {
        "media_type": media_type,
        "digest": digests.of_bytes(data),
        "size": len(data),
        "subject": _descriptor(body["subject"], "subject") if body.get("subject") else None,
        "artifact_type": artifact_type,
        "annotations": annotations,
    }
    if media_type in INDEX_TYPES:
        return ParsedManifest(children=_descriptor_list(body, "manifests"), **common)
    if "config" not in body:
        raise ManifestInvalid("image manifest needs a config descriptor")
    config = _descriptor(body["config"], "config")
    return ParsedManifest(config=config, layers=_descriptor_list(body, "layers"), **common)


def _descriptor_list(body, key):
    raw = body.get(key, [])
    if not isinstance(raw, list):
        raise ManifestInvalid(f"{key} must be a list")
    return tuple(_descriptor(item, f"{key}[{i}]") for i, item in enumerate(raw))
