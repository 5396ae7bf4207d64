"""The age limit of a proxy: garbage_collect evicts the cached IMAGES not pulled for so long (pulled through
a real upstream, Debian's docker-registry), keeps the recently pulled ones of the same repository, removes a
repository whose last image went, and never touches a pushed repository (the size cap is exercised with real
clients in tests/e2e/test_proxy_cache.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from activity import pulls
from activity.models import Event
from images.models import Repository, RepositoryManifest, Tag
from images.services import gc, repositories
from proxy import eviction, services
from proxy.models import CachedTag
from tests.support.seed import seed_image

pytestmark = pytest.mark.django_db

OCI = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


@pytest.fixture
def sync_pulls(settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}  # pull bookkeeping on the test's connection


def _pull(client, name, reference):
    response = client.get(f"/v2/{name}/manifests/{reference}", HTTP_ACCEPT=OCI)
    assert response.status_code == 200, response.content
    pulls.flush()
    return response["Docker-Content-Digest"]


def _age(name, digest, days):
    Event.objects.filter(action="pull", repository=name, digest=digest).update(
        last_at=timezone.now() - timedelta(days=days)
    )


def _digests(name):
    return set(RepositoryManifest.objects.filter(repository__name=name).values_list("manifest__digest", flat=True))


def test_gc_evicts_images_past_the_age_limit_and_leaves_pushed_repositories(client, distribution, tmp_path, sync_pulls):
    seed_image(distribution, "lib/app", "old", tmp_path)
    seed_image(distribution, "lib/app", "new", tmp_path)
    seed_image(distribution, "lib/solo", "1", tmp_path)
    proxy = services.save("up", distribution.url, max_age_days=30)
    old, new, solo = (
        _pull(client, "up/lib/app", "old"),
        _pull(client, "up/lib/app", "new"),
        _pull(client, "up/lib/solo", "1"),
    )
    _age("up/lib/app", old, 40)
    _age("up/lib/solo", solo, 31)
    pushed = repositories.get_or_create("team/app")
    Repository.objects.filter(pk=pushed.pk).update(last_pull_at=timezone.now() - timedelta(days=400))

    chosen = {str(image) for image in eviction.choose(proxy, timezone.now())}
    assert chosen == {f"up/lib/app@{old}", f"up/lib/solo@{solo}"}
    dry = gc.collect(grace=timedelta(0), dry_run=True)
    assert dry.dry_run and _digests("up/lib/app") == {old, new} and _digests("up/lib/solo") == {solo}

    gc.collect(grace=timedelta(0))
    assert _digests("up/lib/app") == {new}  # the image pulled lately stays in the same repository
    assert set(Tag.objects.filter(repository__name="up/lib/app").values_list("name", flat=True)) == {"new"}
    assert set(CachedTag.objects.values_list("name", flat=True)) == {"new"}
    assert set(Repository.objects.values_list("name", flat=True)) == {"up/lib/app", "team/app"}
    assert client.get("/v2/_catalog").json()["repositories"] == ["team/app", "up/lib/app"]
    assert _pull(client, "up/lib/app", "old") == old  # evicted, not lost: fetched again on the next pull


def test_an_index_is_one_image_with_its_pulled_platforms(client, distribution, tmp_path, sync_pulls):
    index = seed_image(distribution, "lib/multi", "1", tmp_path, index=True)
    services.save("up", distribution.url, max_age_days=30)
    assert _pull(client, "up/lib/multi", "1") == index.digest
    child = next(iter(index.built.children.values()))
    assert _pull(client, "up/lib/multi", child) == child
    _age("up/lib/multi", index.digest, 40)  # the index is old, its platform was pulled lately: the image stays
    gc.collect(grace=timedelta(0))
    assert _digests("up/lib/multi") == {index.digest, child}
    _age("up/lib/multi", child, 40)
    gc.collect(grace=timedelta(0))
    assert not Repository.objects.filter(name="up/lib/multi").exists()
