"""The remote-registry client: talking to other registries (mirror, proxy namespaces, replication).

    from remote import RemoteRegistry, errors

    reg = RemoteRegistry("https://registry-1.docker.io", username=None, password=None)
    manifest = reg.get_manifest("library/alpine", "3")
    with reg.open_blob("library/alpine", digest) as blob:
        for chunk in blob: ...

Challenge parsing (Basic, Bearer realm/service/scope), token cache, streaming blob reads with
digest verification, retries with backoff for idempotent requests, and errors that name the
upstream (remote.errors). No Django models; plain requests.
"""

from remote import errors
from remote.client import MANIFEST_MEDIA_TYPES, ManifestHead, RemoteManifest, RemoteRegistry

__all__ = ["MANIFEST_MEDIA_TYPES", "ManifestHead", "RemoteManifest", "RemoteRegistry", "errors"]
