"""This Berth, seen the way remote.transfer.copy_image sees a registry: reads and writes go through
Berth's own services (blobs ingested through an upload session with digest verification, manifests
through the manifest service), so replicated content is stored exactly as a push stores it."""

from contextlib import contextmanager
from dataclasses import dataclass

from images.errors import BlobUnknown, ManifestUnknown, NameUnknown
from images.services import blobs, manifests, uploads
from remote import errors


@dataclass
class LocalManifest:
    payload: bytes
    media_type: str
    digest: str


class _Blob:
    def __init__(self, row):
        self.size = row.size
        self.received = 0
        self._blocks = blobs.stream(row)

    def __iter__(self):
        for block in self._blocks:
            self.received += len(block)
            yield block


class LocalRegistry:
    url = "local"

    def get_manifest(self, repo, reference, accept=None):
        try:
            row = manifests.get(repo, reference)
        except (ManifestUnknown, NameUnknown) as exc:
            raise errors.RemoteNotFound(f"{repo}:{reference}: {exc}", self.url) from None
        return LocalManifest(bytes(row.payload), row.media_type, row.digest)

    def head_manifest(self, repo, reference, accept=None):
        return self.get_manifest(repo, reference)

    def referrers(self, repo, digest, artifact_type=None):
        return {"manifests": manifests.referrers(repo, digest, artifact_type)}

    def has_referrers_api(self, repo, digest):
        return True

    def blob_exists(self, repo, digest):
        try:
            blobs.stat(repo, digest)
        except BlobUnknown:
            return False
        return True

    def mount_blob(self, repo, digest, from_repo):
        return blobs.mount(repo, digest, from_repo) is not None

    @contextmanager
    def open_blob(self, repo, digest):
        yield _Blob(blobs.stat(repo, digest))

    def upload_blob(self, repo, digest, chunks, size=None):
        upload = uploads.start(repo)
        try:
            uploads.complete(upload, digest, blocks=chunks, expected_size=size)
        except BaseException:
            uploads.cancel(upload)
            raise

    def put_manifest(self, repo, reference, payload, media_type):
        return manifests.put(repo, reference, payload, media_type)[0].digest

    def delete_manifest(self, repo, digest):
        try:
            manifests.delete(repo, digest)
        except (ManifestUnknown, NameUnknown):
            return False
        return True

    def close(self):
        pass
