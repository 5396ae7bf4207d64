"""Webhook events name the authenticated caller (distribution's `actor.name`)."""

import pytest

from images import manifest_formats
from images.models import Webhook
from images.services import notifications
from tests.auth.conftest import basic
from tests.ops.conftest import receiver  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def sync_delivery(settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True, "WEBHOOK_BACKOFF_SECONDS": 0.0}
    notifications.clear_cache()  # pulls read the enabled webhooks through a per-process cache
    yield
    notifications.clear_cache()  # and the next test's webhooks are not this one's


def test_pull_and_delete_events_carry_the_caller(world, api, receiver, django_capture_on_commit_callbacks):  # noqa: F811
    Webhook.objects.create(name="all", url=receiver.url)
    olivia = {"HTTP_AUTHORIZATION": basic(*world.credentials["olivia"])}
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.get("/v2/acme/priv/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST, **olivia).status_code
            == 200
        )
        assert api.get("/v2/acme/pub/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete("/v2/acme/priv/manifests/v1", **olivia).status_code == 202

    events = receiver.events()
    assert [(e["action"], e["target"]["repository"], e["actor"]) for e in events] == [
        ("pull", "acme/priv", {"name": "olivia"}),
        ("pull", "acme/pub", {}),  # anonymous
        ("delete", "acme/priv", {"name": "olivia"}),
    ]
