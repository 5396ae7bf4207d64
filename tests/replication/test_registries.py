"""Runs against real registries: distribution 2.8.2 (open, htpasswd) <-> this Berth (the test database)."""

import uuid

import pytest

from images.models import Tag
from remote import RemoteRegistry
from replication import runner, services, triggers
from replication.models import ReplicationItem, ReplicationRun
from tests.support.seed import seed_image, seed_referrer

pytestmark = pytest.mark.django_db(transaction=True)


def run(rule, **kwargs):
    started, _ = triggers.start(rule, **kwargs)
    return runner.execute(started.pk)


def test_pull_then_push_preserves_digests_and_sends_nothing_twice(distribution, distribution_basic, upstream_workdir):
    team = f"t{uuid.uuid4().hex[:6]}"
    multi = seed_image(distribution, f"{team}/multi", "1", upstream_workdir, index=True)
    signature = seed_referrer(distribution, f"{team}/multi", multi, upstream_workdir, tag_schema=True)
    seed_image(distribution, f"{team}/app", "1", upstream_workdir)
    app = seed_image(distribution, f"{team}/app", "2", upstream_workdir)

    src = services.add_remote("dist", distribution.url)
    pull = services.add_rule(
        "pull", src, "pull", f"{team}/*", namespace="local", tags="[0-9]*", keep_last=1, referrers=True
    )
    done = run(pull)
    assert done.status == ReplicationRun.SUCCEEDED, done.error
    tags = dict(Tag.objects.filter(repository__name__startswith="local/").values_list("repository__name", "name"))
    assert tags == {"local/multi": "1", "local/app": "2"}  # keep-last 1; the sha256-<hex> tag is not an image
    assert Tag.objects.get(repository__name="local/multi").manifest.digest == multi.digest
    assert Tag.objects.get(repository__name="local/app").manifest.digest == app.digest

    dest = services.add_remote("dr", distribution_basic.url, distribution_basic.username, distribution_basic.password)
    push = services.add_rule("push", dest, "push", "local/*", namespace=f"dr{team}", referrers=True, concurrency=2)
    pushed = run(push)
    assert pushed.status == ReplicationRun.SUCCEEDED, pushed.error
    reg = RemoteRegistry(distribution_basic.url, distribution_basic.username, distribution_basic.password)
    assert reg.head_manifest(f"dr{team}/multi", "1").digest == multi.digest
    assert reg.head_manifest(f"dr{team}/app", "2").digest == app.digest
    listed = reg.referrers(f"dr{team}/multi", multi.digest)["manifests"]
    assert [m["digest"] for m in listed] == [signature.digest]
    assert pushed.bytes > 0 and all(i.duration_seconds > 0 for i in pushed.items.all())

    again = run(push)
    assert again.status == ReplicationRun.SUCCEEDED and again.bytes == 0


def test_a_restarted_run_skips_done_items(distribution, upstream_workdir):
    team = f"t{uuid.uuid4().hex[:6]}"
    seed_image(distribution, f"{team}/a", "1", upstream_workdir)
    seed_image(distribution, f"{team}/b", "1", upstream_workdir)
    rule = services.add_rule("resume", services.add_remote("d", distribution.url), "pull", f"{team}/a {team}/b")
    started = ReplicationRun.objects.create(rule=rule)  # not enqueued: this test plays the worker
    runner._plan(started, rule, None, services.client(rule.remote))
    first = started.items.get(source=f"{team}/a")
    first.status = ReplicationItem.DONE  # as if the worker died after the first image
    first.save()
    started.status, started.task_id = ReplicationRun.RUNNING, "task-1"
    started.save()
    assert runner.execute(started.pk, task_id="task-2").items.get(source=f"{team}/b").attempts == 0  # not its run
    finished = runner.execute(started.pk, task_id="task-1")  # the same task, run again after a restart
    assert finished.status == ReplicationRun.SUCCEEDED
    assert finished.items.get(source=f"{team}/a").attempts == 0
    assert finished.items.get(source=f"{team}/b").attempts == 1
    assert not Tag.objects.filter(repository__name=f"{team}/a").exists()


def test_wrong_credentials_are_reported(distribution_basic):
    remote = services.add_remote("bad", distribution_basic.url, distribution_basic.username, "wrong")
    assert services.test_remote(remote).startswith("credentials refused")
    rule = services.add_rule("bad-pull", remote, "pull", "x/y")
    finished = run(rule)
    assert finished.status == ReplicationRun.FAILED and "credentials refused" in finished.error


def test_a_local_delete_propagates_when_the_rule_says_so(distribution, distribution_basic, upstream_workdir):
    from images.services import manifests
    from remote import errors

    team = f"t{uuid.uuid4().hex[:6]}"
    seeded = seed_image(distribution, f"{team}/app", "1", upstream_workdir)
    assert run(services.add_rule("in", services.add_remote("src", distribution.url), "pull", f"{team}/app")).bytes > 0
    dest = services.add_remote("dr", distribution_basic.url, distribution_basic.username, distribution_basic.password)
    keep = services.add_rule("keep", dest, "push", f"{team}/*", namespace=f"keep{team}")
    mirror = services.add_rule("mirror", dest, "push", f"{team}/*", namespace=f"del{team}", deletes=True)
    assert run(keep).status == run(mirror).status == ReplicationRun.SUCCEEDED
    reg = RemoteRegistry(distribution_basic.url, distribution_basic.username, distribution_basic.password)
    assert reg.head_manifest(f"del{team}/app", "1").digest == seeded.digest

    manifests.delete(f"{team}/app", "1")
    with pytest.raises(errors.RemoteNotFound):
        reg.head_manifest(f"del{team}/app", "1")
    assert reg.head_manifest(f"keep{team}/app", "1").digest == seeded.digest
    deleted = ReplicationRun.objects.get(trigger="delete")
    assert deleted.status == ReplicationRun.SUCCEEDED and deleted.items.get().digest == seeded.digest


def test_a_failed_image_is_retried_with_backoff(distribution, counting_proxy, upstream_workdir, monkeypatch):
    monkeypatch.setattr(runner, "BACKOFF_SECONDS", 0.05)
    team = f"t{uuid.uuid4().hex[:6]}"
    seeded = seed_image(distribution, f"{team}/app", "1", upstream_workdir)
    run(services.add_rule("in", services.add_remote("src", distribution.url), "pull", f"{team}/app"))
    proxy = counting_proxy(distribution.url)
    proxy.fault(rf"/v2/re{team}/app/manifests/1$", method="PUT", status=503, times=4)  # the client tries 4 times
    push = services.add_rule("out", services.add_remote("dr", proxy.url), "push", f"{team}/*", namespace=f"re{team}")
    finished = run(push)
    item = finished.items.get()
    assert (finished.status, item.status, item.attempts) == (ReplicationRun.SUCCEEDED, "done", 2)
    assert RemoteRegistry(distribution.url).head_manifest(f"re{team}/app", "1").digest == seeded.digest


def test_a_blob_the_destination_holds_in_another_repository_is_mounted(
    distribution, distribution_basic, upstream_workdir
):
    team = f"t{uuid.uuid4().hex[:6]}"
    seeded = seed_image(distribution, f"{team}/app", "1", upstream_workdir, layer_size=1 << 20)
    src = services.add_remote("src", distribution.url)
    for ns in ("m1", "m2"):
        run(services.add_rule(f"in-{ns}", src, "pull", f"{team}/app", namespace=f"{ns}{team}"))
    dest = services.add_remote("dr", distribution_basic.url, distribution_basic.username, distribution_basic.password)
    pushed = run(services.add_rule("out", dest, "push", f"m1{team}/*, m2{team}/*", concurrency=1))
    first, second = pushed.items.order_by("id")
    assert pushed.status == ReplicationRun.SUCCEEDED and first.bytes > 1 << 20 and second.bytes == 0
    reg = RemoteRegistry(distribution_basic.url, distribution_basic.username, distribution_basic.password)
    assert reg.head_manifest(f"m2{team}/app", "1").digest == seeded.digest


def test_a_mount_is_tried_only_for_a_blob_the_run_already_put_at_the_destination(
    distribution, counting_proxy, upstream_workdir
):
    team = f"t{uuid.uuid4().hex[:6]}"
    for name in ("one", "two"):
        seed_image(distribution, f"{team}/{name}", "1", upstream_workdir, layer_size=256 << 10)
    run(services.add_rule("in", services.add_remote("src", distribution.url), "pull", f"{team}/*"))
    proxy = counting_proxy(distribution.url)
    push = services.add_rule("out", services.add_remote("dr", proxy.url), "push", f"{team}/*", namespace=f"re{team}")
    finished = run(push)
    assert finished.status == ReplicationRun.SUCCEEDED and all(item.bytes > 256 << 10 for item in finished.items.all())
    mounts = [p for p, n in proxy.per_path().items() if p.startswith("POST") and "mount=" in p]
    assert mounts == []  # the two images share no blob: no mount request (and no upload session to cancel)
    assert proxy.requests(method="DELETE") == 0
