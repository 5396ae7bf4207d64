"""Replication between REAL registries (issue 30): this Berth under gunicorn with `manage.py worker` on
PostgreSQL; on the other side a second Berth (token auth) or Debian's distribution 2.8.2 (htpasswd)."""

import json
import subprocess
import time

import pytest

from remote import RemoteRegistry
from tests.e2e.ops_helpers import manage, start_open_server
from tests.e2e.servers import REPO_ROOT, venv_bin
from tests.e2e.task_helpers import Worker, push, query
from tests.e2e.test_tasks_workers import FAST, postgres_url
from tests.support.seed import seed_image, seed_referrer

pytestmark = pytest.mark.e2e


@pytest.fixture
def berth(e2e_tmp, request):
    postgres_url()
    server = start_open_server(e2e_tmp / f"repl-{request.node.name[:40]}", **FAST)
    workers = []
    server.worker = lambda name: workers.append(Worker(server, name, **FAST).start()) or workers[-1]
    yield server
    for worker in workers:
        worker.stop()
    server.stop()


def add_remote(server, name, upstream):
    args = [venv_bin("python"), "manage.py", "remote", "add", name, upstream.url]
    user = getattr(upstream, "username", None)
    args += ["--username", user, "--password-stdin"] if user else []
    done = subprocess.run(
        args,
        cwd=REPO_ROOT,
        env=server.env(),
        input=f"{getattr(upstream, 'password', '')}\n",
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def until(check, timeout=30, what="the replica"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except Exception as exc:  # not there yet
            found, last = None, exc
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not arrive within {timeout}s (last: {found or last!r})", pytrace=False)
        time.sleep(0.3)


def test_a_push_arrives_at_the_second_berth_within_30s_index_and_referrer_whole(berth, berth_upstream, e2e_tmp):
    add_remote(berth, "b2", berth_upstream)
    rule = ["replication_rule", "add", "to-b2", "--remote", "b2", "--mode", "push", "--repositories", "team/*"]
    manage(berth, *rule, "--namespace", berth_upstream.username, "--referrers")
    berth.worker("repl-1")
    dest = RemoteRegistry(berth_upstream.url, berth_upstream.username, berth_upstream.password)
    ns = berth_upstream.username

    digest = push(berth, "team/app")
    until(lambda: dest.head_manifest(f"{ns}/app", "1").digest == digest)

    multi = seed_image(berth, "team/multi", "1", e2e_tmp, index=True)
    signature = seed_referrer(berth, "team/multi", multi, e2e_tmp)
    until(lambda: [m["digest"] for m in dest.referrers(f"{ns}/multi", multi.digest)["manifests"]] == [signature.digest])
    until(lambda: dest.head_manifest(f"{ns}/multi", "1").digest == multi.digest)  # the tag is put last
    assert dest.get_manifest(f"{ns}/multi", "1").payload == multi.built.blobs[multi.digest]
    for child in multi.built.children.values():
        document = json.loads(dest.get_manifest(f"{ns}/multi", child).payload)
        for layer in [document["config"], *document["layers"]]:
            assert dest.blob_exists(f"{ns}/multi", layer["digest"])


def test_berth_to_htpasswd_distribution_then_nothing_new_sends_no_blob(
    berth, distribution_basic, counting_proxy, e2e_tmp
):
    seeded = [seed_image(berth, f"ops/img{i}", "1", e2e_tmp, layer_size=1 << 20) for i in range(2)]
    proxy = counting_proxy(distribution_basic.url)
    proxy.username, proxy.password = distribution_basic.username, distribution_basic.password
    add_remote(berth, "dist", proxy)
    manage(berth, "replication_rule", "add", "dr", "--remote", "dist", "--mode", "push", "--repositories", "ops/*")
    out = manage(berth, "replicate", "dr", "--wait").stdout
    assert "succeeded" in out and proxy.requests("/v2/ops/img0/blobs/uploads/", method="POST") >= 2
    dest = RemoteRegistry(distribution_basic.url, distribution_basic.username, distribution_basic.password)
    for i, image in enumerate(seeded):
        assert dest.head_manifest(f"ops/img{i}", "1").digest == image.digest
    proxy.reset()
    again = manage(berth, "replicate", "dr", "--wait").stdout
    assert "succeeded: 0 bytes" in again
    assert proxy.requests("/v2/", method="POST") == 0 and proxy.requests("/v2/", method="PATCH") == 0


def test_pull_from_distribution_into_berth(berth, distribution, e2e_tmp):
    seeded = seed_image(distribution, "upstream/tool", "2", e2e_tmp, index=True)
    add_remote(berth, "src", distribution)
    rule = ["replication_rule", "add", "in", "--remote", "src", "--mode", "pull", "--repositories", "upstream/*"]
    manage(berth, *rule, "--namespace", "mirror")
    assert "succeeded" in manage(berth, "replicate", "in", "--wait").stdout
    local = RemoteRegistry(berth.url)
    assert local.get_manifest("mirror/tool", "2").payload == seeded.built.blobs[seeded.digest]
    for child in seeded.built.children.values():
        document = json.loads(local.get_manifest("mirror/tool", child).payload)
        with local.open_blob("mirror/tool", document["layers"][0]["digest"]) as blob:
            assert b"".join(blob) == seeded.built.blobs[document["layers"][0]["digest"]]


def test_a_worker_killed_mid_run_resumes_and_the_destination_verifies(berth, distribution, counting_proxy, e2e_tmp):
    images = [seed_image(berth, f"big/i{i}", "1", e2e_tmp, layer_size=6 << 20) for i in range(5)]
    proxy = counting_proxy(distribution.url)
    add_remote(berth, "far", proxy)
    rule = ["replication_rule", "add", "big", "--remote", "far", "--mode", "push", "--repositories", "big/*"]
    manage(berth, *rule, "--concurrency", "1")
    doomed = berth.worker("doomed")
    manage(berth, "replicate", "big")

    def copied():
        return {p for p in proxy.per_path() if p.startswith("PUT /v2/") and "/manifests/1" in p}

    until(copied, what="the first copied image (its manifest PUT, not only a blob's)")
    doomed.kill9()
    before = copied()
    berth.worker("survivor")
    code = (
        "from replication.models import ReplicationRun as R\nr = R.objects.get()\n"
        "print(json.dumps([r.status, [[i.source, i.status, i.attempts] for i in r.items.all()]]))"
    )
    status, items = until(lambda: (lambda s: s if s[0] == "succeeded" else None)(query(berth, code)), 90)
    assert all(state == "done" for _, state, _ in items)
    done_first = [source for source, _, attempts in items if attempts == 1]
    assert len(done_first) == 5  # none copied twice: the resumed run skipped what was done
    dest = RemoteRegistry(distribution.url)
    for i, image in enumerate(images):
        assert dest.head_manifest(f"big/i{i}", "1").digest == image.digest
        document = json.loads(dest.get_manifest(f"big/i{i}", "1").payload)
        with dest.open_blob(f"big/i{i}", document["layers"][0]["digest"]) as blob:
            assert sum(len(c) for c in blob) == document["layers"][0]["size"]
    assert before, "the first worker was killed before any image was copied"
