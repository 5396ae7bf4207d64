"""The v2 read paths of proxied names: what is cached comes from the store, the rest from upstream.

Each v2 read view calls one function here; for a name that is not proxied it is exactly the local
service call (routing.route answers from a per-process table).
"""

import logging

from django.utils import timezone

from images.errors import BlobUnknown, ManifestInvalid, ManifestUnknown, NameUnknown
from images.models import Blob, ManifestLayer
from images.services import blobs, manifests, tags
from proxy import fetch, routing, store, upstream
from proxy.fetch import Fetching  # noqa: F401  (the blob view tells a fetch in progress by it)
from remote import errors as remote_errors

logger = logging.getLogger("berth.proxy")


def get_manifest(name, reference):
    route = routing.route(name)
    if route is None:
        return manifests.get(name, reference)
    kind, value = manifests._lookup_reference(reference)
    if kind == "digest":
        try:
            return manifests.get(name, value)
        except (ManifestUnknown, NameUnknown):
            return _fetch_manifest(route, value)
    return _tagged(route, value)


def _tagged(route, tag):
    state = store.cached_tag(route, tag)
    if state is None:  # never fetched: one GET (no HEAD first)
        return _fetch_manifest(route, tag, tag=tag)
    age = (timezone.now() - state.validated_at).total_seconds()
    if age <= route.proxy.tag_ttl:
        return _local(route, tag)
    reg = upstream.client(route.proxy)
    try:
        head = reg.head_manifest(route.upstream_name, tag)
    except remote_errors.RemoteError as exc:
        if not isinstance(exc, remote_errors.RemoteNotFound):
            logger.warning("serving %s:%s stale: the upstream %s failed: %s", route.name, tag, reg.url, exc)
            upstream.count("berth_proxy_stale_served", "Cached tags served stale (upstream failed)", route)
            return _local(route, tag)
        raise upstream.translate(exc, route, "manifest", tag) from None
    if head.digest is None:
        return _fetch_manifest(route, tag, tag=tag)
    if head.digest == state.digest:
        store.mark_validated(route, tag)
        return _local(route, tag)
    try:
        known = manifests.get(route.name, head.digest)
    except (ManifestUnknown, NameUnknown):
        known = None
    if known is not None:  # a digest is never fetched twice
        store.store_manifest(route, _Known(known), tag=tag)
        return known
    return _fetch_manifest(route, tag, tag=tag)


class _Known:
    def __init__(self, manifest):
        self.payload, self.media_type, self.digest = bytes(manifest.payload), manifest.media_type, manifest.digest


def _local(route, tag):
    return manifests.get(route.name, tag)


def _fetch_manifest(route, reference, tag=None):
    reg = upstream.client(route.proxy)
    try:
        remote = reg.get_manifest(route.upstream_name, reference)
        store.store_manifest(route, remote, tag=tag)
    except remote_errors.RemoteError as exc:
        raise upstream.translate(exc, route, "manifest", reference) from None
    except ManifestInvalid as exc:
        raise upstream.translate(remote_errors.RemoteInvalid(str(exc), reg.url), route, "manifest", reference) from None
    upstream.count("berth_proxy_manifest_fetches", "Manifests fetched from upstream", route)
    return manifests.get(route.name, remote.digest)


def stat_blob(name, digest):
    """The Blob (cached or local), or a fetch.Fetching when it is being fetched from upstream."""
    route = routing.route(name)
    if route is None:
        return blobs.stat(name, digest)
    try:
        return blobs.stat(name, digest)
    except BlobUnknown:
        pass
    known = Blob.objects.filter(digest=digest).first()
    if known is not None and referenced(route, digest):  # a digest is never fetched twice
        try:
            linked = blobs.link(name, digest, known.size, verify_bytes=True)
        except BlobUnknown:
            pass
        else:
            store.add_size(name, known.size)
            return linked
    return fetch.start(route, digest)


def referenced(route, digest):
    return ManifestLayer.objects.filter(digest=digest, manifest__repository_links__repository__name=route.name).exists()


def list_tags(name, n, last):
    route = routing.route(name)
    if route is None:
        return tags.list_tags(name, n, last)
    try:
        names = sorted(upstream.client(route.proxy).tags(route.upstream_name))
    except remote_errors.RemoteError as exc:
        try:
            return tags.list_tags(name, n, last)
        except NameUnknown:
            raise upstream.translate(exc, route, "tags", name) from None
    if last:
        names = [t for t in names if t > last]
    limit = len(names) if n is None else n
    return names[:limit], len(names) > limit


def referrers(name, digest, artifact_type=None):
    route = routing.route(name)
    if route is None:
        return manifests.referrers(name, digest, artifact_type)
    try:
        index = upstream.client(route.proxy).referrers(route.upstream_name, digest, artifact_type=artifact_type)
    except remote_errors.RemoteError as exc:
        logger.warning("referrers of %s@%s from the upstream failed, listing the cached ones: %s", name, digest, exc)
        return manifests.referrers(name, digest, artifact_type)
    entries = index.get("manifests") if isinstance(index, dict) else None
    return entries if isinstance(entries, list) else []
