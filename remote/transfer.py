"""Copy an image (or a whole index) from one registry to another, blob by blob, streamed.

    result = copy_image(source, "team/app", "1", dest, "mirror/app", tag="1", referrers=True)
    result.digest        # the top manifest's digest: the same on both sides (bytes are copied as is)
    result.blob_bytes    # blob bytes actually sent (0 when the destination had everything)

Children of an index are copied before the index, blobs before their manifest, so the destination
never holds a manifest whose blobs are missing. A blob the destination already has (HEAD) is not
sent; with `mount_from`, the destination is first asked to mount it from that repository.
With `referrers`, the manifests that refer to each copied manifest (signatures, SBOMs) are copied
too; on a destination without the referrers API the `sha256-<hex>` tag index is kept up to date,
as OCI 1.1 clients do. With `run_blobs` (a callable running a list of no-argument jobs, e.g. on a
thread pool, and returning their results once all ended), the blobs of a manifest are copied at once.
"""

import json
import threading
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


class Mounts:
    """Where the destination holds blobs copied so far (shareable between the threads of one run): a blob
    another image already brought is mounted from there; `fallback` is tried for any other blob."""

    def __init__(self, fallback=None):
        self._where = {}
        self._fallback = fallback
        self._lock = threading.Lock()

    def source_for(self, digest, dest_repo):
        with self._lock:
            repo = self._where.get(digest, self._fallback)
        return repo if repo != dest_repo else None

    def held(self, digest, repo):
        with self._lock:
            self._where.setdefault(digest, repo)


def run_in_turn(jobs):
    """The default `run_blobs`: one job after the other."""
    return [job() for job in jobs]


@dataclass
class _Copy:
    source: object
    src_repo: str
    dest: object
    dest_repo: str
    mounts: Mounts
    run_blobs: object
    result: CopyResult


def copy_image(
    source, src_repo, reference, dest, dest_repo, tag=None, mount_from=None, referrers=False, run_blobs=run_in_turn
):
    """Copy `src_repo:reference` to `dest_repo` (tagged `tag` when given, else by digest). `mount_from`: a
    repository to try mounting every blob from, or a Mounts."""
    result = CopyResult()
    manifest = source.get_manifest(src_repo, reference)
    mounts = mount_from if isinstance(mount_from, Mounts) else Mounts(mount_from)
    copy = _Copy(source, src_repo, dest, dest_repo, mounts, run_blobs, result)
    _copy_manifest(copy, manifest)
    if referrers:
        for subject in list(result.manifests):
            _copy_referrers(copy, subject)
    if tag:
        dest.put_manifest(dest_repo, tag, manifest.payload, manifest.media_type)
    result.digest = manifest.digest
    return result


def _copy_referrers(copy, subject):
    listed = copy.source.referrers(copy.src_repo, subject)["manifests"]
    for descriptor in listed:
        _copy_manifest(copy, copy.source.get_manifest(copy.src_repo, descriptor["digest"]))
    if listed and not copy.dest.has_referrers_api(copy.dest_repo, subject):
        _update_referrers_tag(copy.dest, copy.dest_repo, subject, listed)


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


def _copy_manifest(copy, manifest):
    document = _document(manifest, copy.source.url)
    if manifest.media_type in INDEX_TYPES or "manifests" in document:
        for child in document.get("manifests") or []:
            _copy_manifest(copy, copy.source.get_manifest(copy.src_repo, child["digest"]))
    else:
        jobs = [_blob_job(copy, digest) for digest in dict.fromkeys(_digests(document))]
        for outcome, sent in copy.run_blobs(jobs):
            setattr(copy.result, outcome, getattr(copy.result, outcome) + 1)
            copy.result.blob_bytes += sent
    copy.dest.put_manifest(copy.dest_repo, manifest.digest, manifest.payload, manifest.media_type)
    copy.result.manifests.append(manifest.digest)


def _blob_job(copy, digest):
    return lambda: _copy_blob(copy, digest)


def _copy_blob(copy, digest):
    """("blobs_skipped" | "blobs_mounted" | "blobs_sent", bytes sent)."""
    dest, dest_repo = copy.dest, copy.dest_repo
    outcome = "blobs_skipped", 0
    if not dest.blob_exists(dest_repo, digest):
        mount_from = copy.mounts.source_for(digest, dest_repo)
        outcome = "blobs_mounted", 0
        if not (mount_from and dest.mount_blob(dest_repo, digest, mount_from)):
            with copy.source.open_blob(copy.src_repo, digest) as blob:
                dest.upload_blob(dest_repo, digest, blob, size=blob.size)
                outcome = "blobs_sent", blob.received
    copy.mounts.held(digest, dest_repo)
    return outcome


def _document(manifest, upstream):
    try:
        document = json.loads(manifest.payload)
    except (ValueError, UnicodeDecodeError):
        raise errors.RemoteInvalid(f"manifest {manifest.digest} is not JSON", upstream) from None
    if not isinstance(document, dict):
        raise errors.RemoteInvalid(f"manifest {manifest.digest} is not a JSON object", upstream)
    return document


def _digests(document):
    """The blobs' digests, largest first: copied at once, the longest transfer starts first."""
    found = sorted(_blobs(document), key=lambda d: d.get("size") if isinstance(d.get("size"), int) else 0, reverse=True)
    return [d["digest"] for d in found]


def _blobs(document):
    config = document.get("config")
    layers = document.get("layers") or []
    found = ([config] if isinstance(config, dict) else []) + [d for d in layers if isinstance(d, dict)]
    return [d for d in found if isinstance(d.get("digest"), str) and not d.get("urls")]  # foreign layers stay
