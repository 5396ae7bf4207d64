"""A manifest GET records the repository's last pull time, at most once a minute, off the request."""

import pytest

from images import manifest_formats
from images.models import Repository
from images.services import manifests, notifications

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inline_bookkeeping(settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}
    manifests._last_pull_written.clear()
    notifications.clear_cache()  # no webhooks here: none an earlier test's process cache still holds


def test_a_pull_sets_last_pull_at_once_a_minute(registry, client, django_assert_num_queries):
    registry.push_image("team/app", "v1")
    assert Repository.objects.get(name="team/app").last_pull_at is None

    assert client.get("/v2/team/app/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200
    first = Repository.objects.get(name="team/app").last_pull_at
    assert first is not None

    with django_assert_num_queries(1):  # the manifest lookup only: no update, no webhook query
        assert client.get("/v2/team/app/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200
    assert Repository.objects.get(name="team/app").last_pull_at == first

    assert client.head("/v2/team/app/manifests/v1").status_code == 200  # a HEAD is not a pull
