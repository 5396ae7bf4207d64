"""Recording what was fetched from upstream: the cached repository, manifests and tags.

A cached manifest is stored as the upstream served it, without the push-time check that its
blobs and children are present: they are fetched when they are asked for (an index keeps only
the platforms that were pulled). The repository is marked by its CachedRepository row.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from images import manifest_formats
from images.models import RepositoryManifest, Tag
from images.services import manifests as manifest_service
from images.services import repositories
from proxy import routing
from proxy.models import PULL_PUBLIC, CachedRepository, CachedTag


def cached_repository(route):
    """The repository row of the route, created (as a cache) on first fetch."""
    found = CachedRepository.objects.select_related("repository").filter(repository__name=route.name).first()
    if found is not None:
        return found
    with transaction.atomic():
        repo = repositories.get_or_create(
            route.name,
            public=route.proxy.pull_access == PULL_PUBLIC,
            description=f"Cache of {route.upstream_name} from {route.proxy.upstream_url}",
        )
        found, _ = CachedRepository.objects.get_or_create(
            repository=repo, defaults={"proxy": route.proxy, "upstream_name": route.upstream_name}
        )
    routing.remember_cached(route.name, route.proxy.pk)
    return found


def store_manifest(route, remote, tag=None):
    """Keep a fetched manifest (and point the tag at it); returns the Manifest row."""
    parsed = manifest_formats.parse(remote.payload, remote.media_type)
    cached = cached_repository(route)
    now = timezone.now()
    with transaction.atomic():
        manifest = manifest_service._store(parsed, remote.payload)
        RepositoryManifest.objects.get_or_create(repository=cached.repository, manifest=manifest)
        if tag is not None:
            Tag.objects.update_or_create(
                repository=cached.repository, name=tag, defaults={"manifest": manifest, "v1_image": None}
            )
            CachedTag.objects.update_or_create(
                cached_repository=cached,
                name=tag,
                defaults={"digest": manifest.digest, "fetched_at": now, "validated_at": now},
            )
        CachedRepository.objects.filter(pk=cached.pk).update(last_fetched_at=now)
    return manifest


def mark_validated(route, tag):
    CachedTag.objects.filter(cached_repository__repository__name=route.name, name=tag).update(
        validated_at=timezone.now()
    )


def cached_tag(route, tag):
    return CachedTag.objects.filter(cached_repository__repository__name=route.name, name=tag).first()


def add_size(name, size):
    CachedRepository.objects.filter(repository__name=name).update(size=F("size") + size, last_fetched_at=timezone.now())
