"""Copy an image (or a whole index) from one registry to another, blob by blob, streamed.

    result = copy_image(source, "team/app", "1", dest, "mirror/app", tag="1", referrers=True)
    result.digest        # the top manifest's digest: the same on both sides (bytes are copied as is)
    result.blob_bytes    # blob bytes actually sent (0 when the destination had everything)

Children of an index are copied before the index, blobs before their manifest, so the destination
never holds a manifest whose blobs are missing. A blob the destination already has (HEAD) is not
sent; with `mount_from`, the destination is first asked to mount it from that repository.
With `referrers`, the manifests that refer to each copied manifest (signatures, SBOMs) are copied
too; on a destination without the referrers API the `sha256-<hex>` tag index is kept up to date,
as OCI 1.1 clients do.
"""

import json
from dataclasses import dataclass, field

from remote import errors

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass
class CopyResult:
    digest: str = ""
    manifests: list = field(default_factory=list)  # digests put, children first
    blobs_sent: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    blob_bytes: int = 0


def copy_image(source, src_repo, reference, dest, dest_repo, tag=None, mount_from=None, referrers=False):
    """Copy `src_repo:reference` to `dest_repo` (tagged `tag` when given, else by digest)."""
    result = CopyResult()
    manifest = source.get_manifest(src_repo, reference)
    _copy_manifest(source, src_repo, manifest, dest, dest_repo, mount_from, result)
    if referrers:
        for subject in list(result.manifests):
            _copy_referrers(source, src_repo, subject, dest, dest_repo, mount_from, result)
    if tag:
        dest.put_manifest(dest_repo, tag, manifest.payload, manifest.media_type)
    result.digest = manifest.digest
    return result


def _copy_referrers(source, src_repo, subject, dest, dest_repo, mount_from, result):
    listed = source.referrers(src_repo, subject)["manifests"]
    for descriptor in listed:
        referrer = source.get_manifest(src_repo, descriptor["digest"])
        _copy_manifest(source, src_repo, referrer, dest, dest_repo, mount_from, result)
    if listed and not dest.has_referrers_api(dest_repo, subject):
        _update_referrers_tag(dest, dest_repo, subject, listed)


def _update_referrers_tag(dest, dest_repo, subject, descriptors):
    """Merge `descriptors` into the destination's sha256-<hex> index (the referrers tag schema)."""
    current = dest.referrers(dest_repo, subject)["manifests"]
    known = {d.get("digest") for d in current}
    merged = current + [d for d in descriptors if d.get("digest") not in known]
    if len(merged) == len(current):
        return
    index = {"schemaVersion": 2, "mediaType": INDEX_TYPES[0], "manifests": merged}
    payload = json.dumps(index, separators=(",", ":")).encode()
    dest.put_manifest(dest_repo, subject.replace(":", "-", 1), payload, INDEX_TYPES[0])


def _copy_manifest(source, src_repo, manifest, dest, dest_repo, mount_from, result):
    document = _document(manifest, source.url)
    if manifest.media_type in INDEX_TYPES or "manifests" in document:
        for child in document.get("manifests") or []:
            child_manifest = source.get_manifest(src_repo, child["digest"])
            _copy_manifest(source, src_repo, child_manifest, dest, dest_repo, mount_from, result)
    else:
        for descriptor in _blobs(document):
            _copy_blob(source, src_repo, descriptor["digest"], dest, dest_repo, mount_from, result)
    dest.put_manifest(dest_repo, manifest.digest, manifest.payload, manifest.media_type)
    result.manifests.append(manifest.digest)


def _copy_blob(source, src_repo, digest, dest, dest_repo, mount_from, result):
    if dest.blob_exists(dest_repo, digest):
        result.blobs_skipped += 1
        return
    if mount_from and dest.mount_blob(dest_repo, digest, mount_from):
        result.blobs_mounted += 1
        return
    with source.open_blob(src_repo, digest) as blob:
        dest.upload_blob(dest_repo, digest, blob, size=blob.size)
        result.blob_bytes += blob.received
    result.blobs_sent += 1


def _document(manifest, upstream):
    try:
        document = json.loads(manifest.payload)
    except (ValueError, UnicodeDecodeError):
        raise errors.RemoteInvalid(f"manifest {manifest.digest} is not JSON", upstream) from None
    if not isinstance(document, dict):
        raise errors.RemoteInvalid(f"manifest {manifest.digest} is not a JSON object", upstream)
    return document


def _blobs(document):
    config = document.get("config")
    layers = document.get("layers") or []
    found = ([config] if isinstance(config, dict) else []) + [d for d in layers if isinstance(d, dict)]
    return [d for d in found if isinstance(d.get("digest"), str) and not d.get("urls")]  # foreign layers stay
