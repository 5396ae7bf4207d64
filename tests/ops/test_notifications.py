"""Webhooks: the reference registry's envelope on push, pull and delete; delivery after commit, retries, log."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from images import manifest_formats
from images.models import Webhook, WebhookDelivery
from images.services import notifications
from tests.ops.conftest import CONFIG, LAYER
from tests.support.registry import descriptor, sha256

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sync_delivery(settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True, "WEBHOOK_BACKOFF_SECONDS": 0.0}


def push_over_http(client, name, tag, layer=b"a layer"):
    config = b'{"architecture":"amd64","os":"linux"}'
    for data in (config, layer):
        r = client.post(
            f"/v2/{name}/blobs/uploads/?digest={sha256(data)}", data, content_type="application/octet-stream"
        )
        assert r.status_code == 201, r.content
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifest_formats.OCI_MANIFEST,
            "config": descriptor(CONFIG, config),
            "layers": [descriptor(LAYER, layer)],
        }
    ).encode()
    r = client.put(
        f"/v2/{name}/manifests/{tag}", body, content_type=manifest_formats.OCI_MANIFEST, HTTP_USER_AGENT="test-agent/1"
    )
    assert r.status_code == 201, r.content
    return body


def test_push_pull_delete_are_posted_in_the_distribution_envelope(client, receiver, django_capture_on_commit_callbacks):
    Webhook.objects.create(name="all", url=receiver.url, secret="s3cret")
    with django_capture_on_commit_callbacks(execute=True):
        body = push_over_http(client, "team/app", "1.0")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/v2/team/app/manifests/1.0", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200
        assert client.head("/v2/team/app/manifests/1.0").status_code == 200  # HEAD is not a pull
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete("/v2/team/app/manifests/1.0").status_code == 202

    assert [e["action"] for e in receiver.events()] == ["push", "pull", "delete"]
    headers, raw = receiver.requests[0]
    assert headers["Content-Type"] == "application/vnd.docker.distribution.events.v1+json"
    assert headers["X-Berth-Signature"] == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    push = receiver.events()[0]
    assert set(push) == {"id", "timestamp", "action", "target", "request", "actor", "source"}
    assert push["target"] == {
        "mediaType": manifest_formats.OCI_MANIFEST,
        "size": len(body),
        "digest": sha256(body),
        "length": len(body),
        "repository": "team/app",
        "url": f"http://testserver/v2/team/app/manifests/{sha256(body)}",
        "tag": "1.0",
    }
    assert push["request"]["method"] == "PUT" and push["request"]["useragent"] == "test-agent/1"
    assert push["request"]["host"] == "testserver" and push["request"]["id"]
    assert set(push["source"]) == {"addr", "instanceID"} and push["timestamp"].endswith("Z")
    assert receiver.events()[2]["target"]["tag"] == "1.0"
    assert WebhookDelivery.objects.filter(status="delivered").count() == 3


def test_filters_by_event_and_repository(client, receiver, django_capture_on_commit_callbacks):
    Webhook.objects.create(name="pushes", url=receiver.url, events=["push"], repositories="team/*, other")
    Webhook.objects.create(name="off", url=receiver.url, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        push_over_http(client, "team/app", "1")
        push_over_http(client, "elsewhere/app", "1", layer=b"other layer")
        client.get("/v2/team/app/manifests/1")
    assert [(e["action"], e["target"]["repository"]) for e in receiver.events()] == [("push", "team/app")]


def test_nothing_is_sent_for_a_rolled_back_push(client, receiver, django_capture_on_commit_callbacks):
    Webhook.objects.create(name="all", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": manifest_formats.OCI_MANIFEST,
                "config": descriptor(CONFIG, b"{}"),
                "layers": [],
            }
        )
        r = client.put("/v2/team/app/manifests/1", body, content_type=manifest_formats.OCI_MANIFEST)
        assert r.status_code == 400  # MANIFEST_BLOB_UNKNOWN
    assert not WebhookDelivery.objects.exists() and not receiver.requests


def test_failures_are_retried_with_backoff_then_given_up(
    client, receiver, django_capture_on_commit_callbacks, settings
):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_BACKOFF_SECONDS": 10.0}
    Webhook.objects.create(name="flaky", url=receiver.url, max_attempts=3)
    receiver.fail_next = 1
    with django_capture_on_commit_callbacks(execute=True):
        push_over_http(client, "team/app", "1")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert timedelta(seconds=9) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=10)
    assert notifications.deliver_due()["delivered"] == 0  # not due yet
    later = timezone.now() + timedelta(seconds=11)
    assert notifications.deliver_due(now=later) == {"delivered": 1, "pending": 0, "failed": 0, "skipped": 0}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 2, 200)
    assert len(receiver.events()) == 1

    Webhook.objects.update(url="http://127.0.0.1:9/unreachable")
    with django_capture_on_commit_callbacks(execute=True):
        push_over_http(client, "team/app", "2", layer=b"second")
    failing = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    for step in (1, 2):
        failing.refresh_from_db()
        assert failing.status == "pending" and failing.attempts == step and failing.error
        notifications.deliver_due(now=timezone.now() + timedelta(hours=1))
    failing.refresh_from_db()
    assert failing.status == "failed" and failing.attempts == 3
    assert notifications.backoff(1) == 10 and notifications.backoff(3) == 40


def test_a_crashed_attempt_is_retried_after_its_lease(receiver):
    hook = Webhook.objects.create(name="h", url=receiver.url)
    delivery = WebhookDelivery.objects.create(
        webhook=hook,
        event_id="e",
        action="push",
        payload=notifications.envelope({"id": "e"}),
        status="delivering",
        lease_until=timezone.now() - timedelta(seconds=1),
        attempts=1,
    )
    call_command("deliver_notifications")
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert receiver.events() == [{"id": "e"}]


def test_background_delivery_after_commit(transactional_db, client, receiver, settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": False}
    Webhook.objects.create(name="bg", url=receiver.url)
    push_over_http(client, "team/app", "1")
    assert receiver.event.wait(10), "no event delivered by the pool"
    assert receiver.events()[0]["action"] == "push"


def test_a_webhook_deleted_elsewhere_does_not_cost_the_others_their_pull_events(
    client, receiver, django_capture_on_commit_callbacks
):
    """Pulls read the webhooks through a per-process cache; another process (here: a plain delete that does
    not clear this process's cache) may remove one meanwhile."""
    kept = Webhook.objects.create(name="kept", url=receiver.url)
    gone = Webhook.objects.create(name="gone", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        push_over_http(client, "team/app", "1.0")
        assert client.get("/v2/team/app/manifests/1.0", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200
    Webhook.objects.filter(pk=gone.pk).delete()  # the cache still holds it
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/v2/team/app/manifests/1.0", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST).status_code == 200
    connection.check_constraints()  # the deferred foreign keys, checked now rather than at the test's end
    pulls = WebhookDelivery.objects.filter(action="pull").values_list("webhook_id", flat=True)
    assert sorted(pulls) == [kept.pk, kept.pk]
