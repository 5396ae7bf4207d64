"""Size cap and age limit per proxy: garbage_collect first evicts cached repositories (least recently
pulled first), then collects what they held the usual way. Pushed repositories are never looked at:
only repositories with a CachedRepository row are candidates, and a blob a pushed repository links
stays linked there."""

import logging
from datetime import timedelta

from django.db.models import Sum
from django.db.models.functions import Coalesce

from images.errors import NameUnknown
from images.models import Blob, RepositoryBlob
from images.services import repositories
from proxy.models import CachedRepository, Proxy

logger = logging.getLogger("berth.proxy")


def cached_bytes(proxy):
    """Bytes of the distinct blobs the proxy's cached repositories hold."""
    linked = RepositoryBlob.objects.filter(repository__proxy_cache__proxy=proxy).values("blob_id")
    return Blob.objects.filter(id__in=linked).aggregate(total=Sum("size"))["total"] or 0


def _by_last_pull(proxy):
    return (
        CachedRepository.objects.filter(proxy=proxy)
        .select_related("repository")
        .annotate(last_used=Coalesce("repository__last_pull_at", "last_fetched_at", "repository__created_at"))
        .order_by("last_used", "pk")
    )


def evict(now, dry_run=False):
    """Evict what is over each proxy's limits; returns the names of the evicted repositories."""
    evicted = []
    for proxy in Proxy.objects.exclude(max_size=None, max_age_days=None):
        evicted += _evict_proxy(proxy, now, dry_run)
    if not dry_run:
        sweep_spool(now)
    return evicted


def repository_bytes(cached):
    linked = RepositoryBlob.objects.filter(repository_id=cached.repository_id).values("blob_id")
    return Blob.objects.filter(id__in=linked).aggregate(total=Sum("size"))["total"] or 0


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


def _evict_proxy(proxy, now, dry_run):
    out = []
    candidates = list(_by_last_pull(proxy))
    if proxy.max_age_days is not None:
        cutoff = now - timedelta(days=proxy.max_age_days)
        out += [c for c in candidates if c.last_used < cutoff]
    if proxy.max_size is not None:
        total = cached_bytes(proxy)
        for cached in candidates:
            if total <= proxy.max_size:
                break
            if cached not in out:
                out.append(cached)
            total -= repository_bytes(cached)
    names = [c.repository.name for c in out]
    for name in names:
        logger.info("%s cache %s (proxy %s)", "would evict" if dry_run else "evicting", name, proxy)
        if not dry_run:
            try:
                repositories.delete_repository(name)
            except NameUnknown:
                pass
    return names
