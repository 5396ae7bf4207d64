"""Size cap and age limit per proxy: garbage_collect first evicts cached images (least recently pulled
first), then collects what they held the usual way.

An image is a manifest of a cached repository with the index children and referrers it carries in
that repository; it was last used when one of them was last pulled (the activity log's pull rows,
per digest), or, never pulled, when it was cached. Evicting an image deletes its manifests from the
repository (the manifest service's delete: tags, webhooks and the activity log as for any delete); a
repository left with no image is removed from the catalog. Pushed repositories are never looked at:
only repositories with a CachedRepository row are candidates, and a blob a pushed repository links
stays linked there. The size is the distinct blobs the proxy's cached repositories hold; evicting an
image frees the blobs no remaining image of the proxy uses.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Max, Sum

from activity.models import Event
from images.errors import ManifestUnknown, NameUnknown, RegistryError
from images.models import Blob, ManifestChild, ManifestLayer, RepositoryBlob, RepositoryManifest
from images.services import manifests, repositories
from proxy.models import CachedRepository, CachedTag, Proxy

logger = logging.getLogger("berth.proxy")


def cached_bytes(proxy):
    """Bytes of the distinct blobs the proxy's cached repositories hold."""
    linked = RepositoryBlob.objects.filter(repository__proxy_cache__proxy=proxy).values("blob_id")
    return Blob.objects.filter(id__in=linked).aggregate(total=Sum("size"))["total"] or 0


@dataclass
class Image:
    repository: str
    root: str
    digests: set = field(default_factory=set)
    last_used: object = None
    blobs: set = field(default_factory=set)

    def __str__(self):
        return f"{self.repository}@{self.root}"


def evict(now, dry_run=False):
    """Evict what is over each proxy's limits; returns the evicted images as "name@digest"."""
    evicted = []
    for proxy in Proxy.objects.exclude(max_size=None, max_age_days=None):
        evicted += _evict_proxy(proxy, now, dry_run)
    if not dry_run:
        sweep_spool(now)
    return evicted


def images(proxy):
    """The proxy's cached images, least recently used first."""
    names = dict(CachedRepository.objects.filter(proxy=proxy).values_list("repository_id", "repository__name"))
    links = RepositoryManifest.objects.filter(repository_id__in=names).values_list(
        "repository_id", "manifest_id", "manifest__digest", "manifest__subject_digest", "created_at"
    )
    by_repo = defaultdict(dict)  # repository id -> {digest: (manifest id, subject, linked at)}
    for repo_id, manifest_id, digest, subject, linked_at in links:
        by_repo[repo_id][digest] = (manifest_id, subject, linked_at)
    ids = [m for linked in by_repo.values() for m, _, _ in linked.values()]
    children = defaultdict(set)
    for parent, digest in ManifestChild.objects.filter(parent_id__in=ids).values_list("parent_id", "digest"):
        children[parent].add(digest)
    layers = defaultdict(set)
    for manifest_id, digest in ManifestLayer.objects.filter(manifest_id__in=ids).values_list("manifest_id", "digest"):
        layers[manifest_id].add(digest)
    pulled = _last_pulls(names.values())
    found = []
    for repo_id, linked in by_repo.items():
        found += _images_of(names[repo_id], linked, children, layers, pulled)
    return sorted(found, key=lambda image: (image.last_used, image.repository, image.root))


def _images_of(name, linked, children, layers, pulled):
    owned = {d for m, _, _ in linked.values() for d in children[m]} | {
        d for d, (_, subject, _) in linked.items() if subject in linked
    }
    out = []
    for root in sorted(set(linked) - owned) or sorted(linked):  # a cycle has no root: each manifest is one
        image = Image(name, root)
        _gather(image, root, linked, children)
        image.blobs = {b for d in image.digests for b in layers[linked[d][0]]}
        times = [pulled[(name, d)] for d in image.digests if (name, d) in pulled]
        image.last_used = max(times) if times else max(linked[d][2] for d in image.digests)
        out.append(image)
    return out


def _gather(image, digest, linked, children):
    if digest in image.digests or digest not in linked:
        return
    image.digests.add(digest)
    for child in children[linked[digest][0]]:
        _gather(image, child, linked, children)
    for referrer, (_, subject, _) in linked.items():
        if subject == digest:
            _gather(image, referrer, linked, children)


def _last_pulls(names):
    rows = (
        Event.objects.filter(action="pull", repository__in=list(names))
        .values("repository", "digest")
        .annotate(last=Max("last_at"))
    )
    return {(row["repository"], row["digest"]): row["last"] for row in rows if row["last"] is not None}


def choose(proxy, now):
    """The images over the proxy's age limit, then the least recently used ones while over its size cap."""
    candidates = images(proxy)
    cutoff = None if proxy.max_age_days is None else now - timedelta(days=proxy.max_age_days)
    cap = proxy.max_size
    sizes = dict(
        RepositoryBlob.objects.filter(repository__proxy_cache__proxy=proxy).values_list("blob__digest", "blob__size")
    )
    users = defaultdict(int)
    for image in candidates:
        for blob in image.blobs:
            users[blob] += 1
    total = sum(sizes.values())
    out = []
    for image in candidates:  # least recently used first
        if not ((cutoff is not None and image.last_used < cutoff) or (cap is not None and total > cap)):
            continue
        out.append(image)
        for blob in image.blobs:
            users[blob] -= 1
            if users[blob] == 0:
                total -= sizes.get(blob, 0)
    return out


def _evict_proxy(proxy, now, dry_run):
    chosen = choose(proxy, now)
    for image in chosen:
        logger.info("%s cached image %s (proxy %s)", "would evict" if dry_run else "evicting", image, proxy)
    if not dry_run:
        for name, gone in _by_repository(chosen).items():
            _delete(name, gone)
    return [str(image) for image in chosen]


def _by_repository(chosen):
    out = defaultdict(set)
    for image in chosen:
        out[image.repository] |= image.digests
    return out


def _delete(name, digests):
    """Delete the evicted manifests of one repository, then the repository if no image is left."""
    for digest in sorted(digests):
        try:
            manifests.delete(name, digest)
        except (ManifestUnknown, NameUnknown):
            pass  # a client or another collection deleted it meanwhile
        except RegistryError as exc:  # a retention rule (immutable tag) keeps it
            logger.warning("cached image %s@%s not evicted: %s", name, digest, exc)
    CachedTag.objects.filter(cached_repository__repository__name=name, digest__in=digests).delete()
    if RepositoryManifest.objects.filter(repository__name=name).exists():
        _recount(name)
        return
    try:
        repositories.delete_repository(name)
    except (NameUnknown, RegistryError) as exc:
        logger.info("cache repository %s not removed: %s", name, exc)


def _recount(name):
    """The repository's cached size: the blobs its remaining images use (the collection unlinks the rest)."""
    used = ManifestLayer.objects.filter(manifest__repository_links__repository__name=name).values("digest")
    linked = Blob.objects.filter(digest__in=used, repository_links__repository__name=name)
    size = linked.aggregate(total=Sum("size"))["total"] or 0
    CachedRepository.objects.filter(repository__name=name).update(size=size)


def sweep_spool(now, older_than=timedelta(days=1)):
    """Spool files a crashed fetch left behind (no claim row names them)."""
    from proxy.fetch import spool_dir
    from proxy.models import BlobFetch

    live = set(BlobFetch.objects.values_list("spool", flat=True))
    cutoff = (now - older_than).timestamp()
    for path in spool_dir().iterdir():
        try:
            if str(path) not in live and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
