"""The age limit of a proxy: garbage_collect evicts cached repositories not pulled for so long, and
never a pushed repository (the size cap is exercised against a real upstream in tests/e2e)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from images.models import Repository
from images.services import gc, repositories
from proxy import routing, services, store

pytestmark = pytest.mark.django_db


def test_gc_evicts_caches_past_the_age_limit_and_leaves_pushed_repositories():
    mirror = services.save("", "https://mirror.example.test", max_age_days=30)
    now = timezone.now()
    for name, days in (("library/old", 40), ("library/new", 1)):
        cached = store.cached_repository(routing.Route(mirror, name, name))
        Repository.objects.filter(pk=cached.repository_id).update(last_pull_at=now - timedelta(days=days))
    pushed = repositories.get_or_create("team/app")
    Repository.objects.filter(pk=pushed.pk).update(last_pull_at=now - timedelta(days=400))

    dry = gc.collect(grace=timedelta(0), dry_run=True)
    assert dry.dry_run and Repository.objects.filter(name="library/old").exists()
    gc.collect(grace=timedelta(0))
    assert set(Repository.objects.values_list("name", flat=True)) == {"library/new", "team/app"}
