"""Retention: keep-last / keep-days / keep-tags / untagged-days, immutable and referenced manifests kept,
the dry run equal to the real run, removals through the delete service (webhooks), each run recorded."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from images import digests, manifest_formats
from images.models import RepositoryManifest, Tag, Webhook, WebhookDelivery
from images.services import gc, manifests
from policies.models import RetentionRun
from policies.services import retention, rules

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def push(registry, repo, tag, n, days_ago, **extra):
    data = registry.push_image(
        repo, tag, config=json.dumps({"n": n}).encode(), layers=(f"layer {n}".encode(),), **extra
    )
    Tag.objects.filter(repository__name=repo, name=tag).update(updated_at=NOW - timedelta(days=days_ago))
    return digests.of_bytes(data)


def tags(repo="team/app"):
    return sorted(Tag.objects.filter(repository__name=repo).values_list("name", flat=True))


def test_keep_last_with_patterns_and_immutable(registry, operator):
    for i in range(6):
        push(registry, "team/app", f"build-{i}", i, days_ago=10 - i)
    push(registry, "team/app", "latest", 100, days_ago=50)
    push(registry, "team/app", "v1", 101, days_ago=60)
    rules.set_policy(operator, "team", {"keep_last": 2, "keep_tags": ["latest"], "immutable": ["v*"]})
    dry = retention.run("team", dry_run=True)
    assert sorted(i["tag"] for i in dry.items if i["kind"] == "tag") == ["build-0", "build-1", "build-2", "build-3"]
    assert tags() == ["build-0", "build-1", "build-2", "build-3", "build-4", "build-5", "latest", "v1"]
    real = retention.run("team")
    assert real.items == dry.items and real.bytes_freed == dry.bytes_freed > 0
    assert tags() == ["build-4", "build-5", "latest", "v1"]
    assert RepositoryManifest.objects.filter(repository__name="team/app").count() == 4
    assert RetentionRun.objects.count() == 2


def test_keep_days(registry, operator):
    push(registry, "team/app", "old", 1, days_ago=40)
    push(registry, "team/app", "new", 2, days_ago=3)
    rules.set_policy(operator, "team", {"keep_days": 30})
    retention.run("team")
    assert tags() == ["new"]


def test_a_repository_policy_wins_over_the_namespace_one(registry, operator):
    for i in range(3):
        push(registry, "team/app", f"t{i}", i, days_ago=5 - i)
        push(registry, "team/keep-all", f"t{i}", i, days_ago=5 - i)
    rules.set_policy(operator, "team", {"keep_last": 1})
    rules.set_policy(operator, "team/keep-*", {"keep_last": 10})
    retention.run("team")
    assert tags() == ["t2"]
    assert tags("team/keep-all") == ["t0", "t1", "t2"]


def test_signatures_and_index_children_of_kept_images_are_kept(registry, operator):
    kept = push(registry, "team/app", "new", 1, days_ago=1)
    gone = push(registry, "team/app", "old", 2, days_ago=9)
    # OCI referrers (subject) of both images, untagged
    sig_kept = registry.push_image("team/app", "x", config=b'{"sig":1}', subject=_desc(kept))
    sig_gone = registry.push_image("team/app", "y", config=b'{"sig":2}', subject=_desc(gone))
    manifests.delete("team/app", "x")
    manifests.delete("team/app", "y")
    # cosign-style tag signatures
    cosign_kept = push(registry, "team/app", "sha256-" + kept.split(":")[1] + ".sig", 3, days_ago=1)
    cosign_gone = push(registry, "team/app", "sha256-" + gone.split(":")[1] + ".sig", 4, days_ago=9)
    # an index whose child is otherwise untagged
    child = registry.image_manifest(b'{"c":1}', (b"child layer",))
    registry.push_image("team/app", digests.of_bytes(child), config=b'{"c":1}', layers=(b"child layer",))
    index = registry.index_manifest((child, {"os": "linux", "architecture": "amd64"}))
    manifests.put("team/app", "multi", index, manifest_formats.OCI_INDEX)
    rules.set_policy(operator, "team", {"keep_last": 2, "untagged_days": 0})
    record = retention.run("team")
    removed = {i["digest"] for i in record.items if i["kind"] == "manifest"}
    assert removed == {gone, digests.of_bytes(sig_gone), cosign_gone}
    assert tags() == ["multi", "new", "sha256-" + kept.split(":")[1] + ".sig"]
    left = set(RepositoryManifest.objects.values_list("manifest__digest", flat=True))
    assert {kept, digests.of_bytes(sig_kept), cosign_kept, digests.of_bytes(child), digests.of_bytes(index)} == left


def test_untagged_manifests_older_than_the_rule(registry, operator):
    young = push(registry, "team/app", "a", 1, days_ago=0)
    old = push(registry, "team/app", "b", 2, days_ago=0)
    manifests.delete("team/app", "a")
    manifests.delete("team/app", "b")
    RepositoryManifest.objects.filter(manifest__digest=old).update(created_at=NOW - timedelta(days=20))
    rules.set_policy(operator, "team", {"untagged_days": 7})
    record = retention.run("team")
    assert [i["digest"] for i in record.items] == [old]
    assert "untagged-days 7" in record.items[0]["rule"]
    assert set(RepositoryManifest.objects.values_list("manifest__digest", flat=True)) == {young}


def test_removals_fire_delete_webhooks_and_gc_frees_the_bytes(registry, operator, blob_files):
    Webhook.objects.create(name="w", url="http://127.0.0.1:9/hook", events=["delete"])
    push(registry, "team/app", "old", 1, days_ago=9)
    push(registry, "team/app", "new", 2, days_ago=1)
    rules.set_policy(operator, "team", {"keep_last": 1})
    record = retention.run("team")
    assert WebhookDelivery.objects.filter(action="delete").count() == 2  # the tag, then the manifest
    before = len(blob_files())
    result = gc.collect(grace=timedelta(0))
    assert result.bytes_freed == record.bytes_freed
    assert len(blob_files()) == before - 2


def _desc(digest):
    from images.models import Manifest

    m = Manifest.objects.get(digest=digest)
    return {"mediaType": m.media_type, "digest": m.digest, "size": m.size}


def test_keep_days_also_keeps_tags_pulled_recently(registry, operator, settings):
    from images.services import notifications
    from policies.services import pulls

    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}  # pull bookkeeping inline
    pulls.forget()
    push(registry, "team/app", "old-but-pulled", 1, days_ago=40)
    push(registry, "team/app", "old", 2, days_ago=40)
    manifest = manifests.get("team/app", "old-but-pulled")
    manifests.record_pull("team/app", manifest, "old-but-pulled")
    notifications.drain()
    rules.set_policy(operator, "team", {"keep_days": 30})
    retention.run("team")
    assert tags() == ["old-but-pulled"]
