"""The admin: start a collection, see the runs; webhooks and their delivery log."""

import pytest

from images.models import GarbageCollectionRun, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_admin_starts_a_collection_and_lists_it(admin_client, ops):
    stray = ops.push_blob("team/app", b"stray")
    page = admin_client.get("/admin/images/garbagecollectionrun/")
    assert b"Run garbage collection" in page.content
    form = admin_client.get("/admin/images/garbagecollectionrun/collect/")
    assert form.status_code == 200 and b"grace" in form.content
    response = admin_client.post("/admin/images/garbagecollectionrun/collect/", {"grace": "0s"})
    assert response.status_code == 302
    run = GarbageCollectionRun.objects.get()
    assert run.status == "done" and run.blobs_deleted == 1 and run.triggered_by.startswith("admin: ")
    assert not ops.has_row(stray)
    listing = admin_client.get("/admin/images/garbagecollectionrun/")
    assert listing.status_code == 200 and b"admin: " in listing.content
    assert admin_client.get(f"/admin/images/garbagecollectionrun/{run.pk}/change/").status_code == 200


def test_bad_grace_is_a_form_error(admin_client):
    response = admin_client.post("/admin/images/garbagecollectionrun/collect/", {"grace": "later"})
    assert response.status_code == 200 and b"invalid duration" in response.content
    assert not GarbageCollectionRun.objects.exists()


def test_staff_without_superuser_cannot_collect(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/images/garbagecollectionrun/collect/").status_code == 403


def test_webhooks_are_configured_and_deliveries_retried(admin_client, settings):
    response = admin_client.post(
        "/admin/images/webhook/add/",
        {
            "name": "ci",
            "url": "http://127.0.0.1:9/hook",
            "enabled": "on",
            "events": ["push", "delete"],
            "repositories": "team/*",
            "headers": '{"Authorization": "Bearer x"}',
            "secret": "",
            "timeout_seconds": "2",
            "max_attempts": "3",
        },
    )
    assert response.status_code == 302, response.content
    hook = Webhook.objects.get()
    assert hook.events == ["push", "delete"] and hook.headers == {"Authorization": "Bearer x"}
    delivery = WebhookDelivery.objects.create(webhook=hook, event_id="e", action="push", status="failed", attempts=3)
    assert b"failed" in admin_client.get("/admin/images/webhookdelivery/").content
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}
    admin_client.post(
        "/admin/images/webhookdelivery/", {"action": "retry_now", "_selected_action": [delivery.pk]}, follow=True
    )
    delivery.refresh_from_db()
    assert delivery.status in ("pending", "failed") and delivery.next_attempt_at is not None
