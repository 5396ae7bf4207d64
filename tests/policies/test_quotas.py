"""Quotas: a blob that would go over is refused at commit with the usage, its staged bytes freed; each blob
is counted once per namespace; GC makes the figure exact."""

from datetime import timedelta

import pytest

from images import digests
from images.errors import Denied
from images.models import Blob, Upload
from images.services import gc, manifests, uploads
from policies.models import NamespaceUsage
from policies.services import quotas, rules

pytestmark = pytest.mark.django_db


def test_push_over_quota_is_refused_with_usage_and_staged_bytes_freed(registry, operator, upload_dirs):
    rules.set_policy(operator, "team", {"quota_bytes": "1000"})
    registry.push_blob("team/app", b"a" * 600)
    upload = uploads.start("team/app")
    uploads.append(upload, [b"b" * 500])
    with pytest.raises(Denied) as excinfo:
        uploads.complete(upload, digests.of_bytes(b"b" * 500))
    assert excinfo.value.message == "quota exceeded: 600 B of 1000 B used"
    assert quotas.usage("team") == 600
    assert not Upload.objects.exists()
    assert upload_dirs() == []
    assert not Blob.objects.filter(digest=digests.of_bytes(b"b" * 500)).exists()


def test_a_blob_counts_once_per_namespace(registry, operator):
    rules.set_policy(operator, "team", {"quota_bytes": "1000"})
    registry.push_blob("team/app", b"a" * 600)
    registry.push_blob("team/other", b"a" * 600)  # same blob, same namespace: no charge, not refused
    registry.push_blob("solo/app", b"a" * 600)
    assert quotas.usage("team") == 600
    assert quotas.usage("solo") == 600


def test_quota_below_usage_is_allowed_and_says_so(registry, operator):
    registry.push_blob("team/app", b"a" * 600)
    _, notes = rules.set_policy(operator, "team", {"quota_bytes": "100"})
    assert "below current usage" in notes[0]
    with pytest.raises(Denied, match="quota exceeded: 600 B of 100 B used"):
        registry.push_blob("team/app", b"x")


def test_usage_comes_back_after_delete_and_gc(registry):
    data = registry.push_image("team/app", "1", config=b'{"c":1}', layers=(b"L" * 300,))
    assert quotas.usage("team") == 300 + 7
    manifests.delete("team/app", digests.of_bytes(data))
    assert quotas.usage("team") == 307  # not before GC
    gc.collect(grace=timedelta(0))
    assert quotas.usage("team") == 0
    assert NamespaceUsage.objects.get(namespace="team").counted_at is not None


def test_warning_sent_once_as_a_webhook_event(registry, operator):
    from images.models import Webhook, WebhookDelivery

    Webhook.objects.create(name="w", url="http://127.0.0.1:9/hook")
    rules.set_policy(operator, "team", {"quota_bytes": "1000", "warn_percent": "50"})
    registry.push_blob("team/app", b"a" * 400)
    assert not WebhookDelivery.objects.filter(action="quota").exists()
    registry.push_blob("team/app", b"b" * 200)
    registry.push_blob("team/app", b"c" * 100)
    sent = WebhookDelivery.objects.filter(action="quota")
    assert sent.count() == 1
    assert sent.get().payload["events"][0]["quota"]["used_bytes"] == 600
    assert quotas.status("team")["warning"] is True


def test_a_mount_into_another_namespace_is_charged_and_refused_over_quota(registry, operator):
    from images.services import blobs

    digest = registry.push_blob("other/app", b"m" * 500)
    assert blobs.mount("team/app", digest, "other/app") is not None
    assert quotas.usage("team") == 500
    rules.set_policy(operator, "solo", {"quota_bytes": "100"})
    assert blobs.mount("solo/app", digest, "other/app") is None  # the client uploads, and is told why
    assert quotas.usage("solo") == 0


def test_a_zero_quota_refuses_every_new_blob_and_reads_as_full(registry, operator):
    rules.set_policy(operator, "team", {"quota_bytes": "0"})
    assert quotas.status("team")["percent"] == 0.0
    with pytest.raises(Denied, match="quota exceeded: 0 B of 0 B used"):
        registry.push_blob("team/app", b"x")
    registry.push_blob("other/app", b"y")
    rules.set_policy(operator, "other", {"quota_bytes": "0"})
    assert quotas.status("other")["over_quota"] is True and quotas.status("other")["percent"] == 100.0
