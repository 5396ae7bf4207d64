"""The catalog's kept counts (images/counters.py) match the rows after every kind of change: push, tag
move, untag, image and repository deletion, blob links, garbage collection, concurrent pushes."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Count, Sum

from images import counters
from images.models import (
    Blob,
    Manifest,
    NamespaceCount,
    Repository,
    RepositoryBlob,
    StorageCounter,
    StorageSnapshot,
    Tag,
)
from images.services import blobs, manifests, repositories

pytestmark = pytest.mark.django_db


def from_rows():
    """What the counters must say, counted from the rows the slow way."""
    per_repo = {
        r.pk: (
            Tag.objects.filter(repository=r).count(),
            RepositoryBlob.objects.filter(repository=r).aggregate(s=Sum("blob__size"))["s"] or 0,
        )
        for r in Repository.objects.all()
    }
    store = {
        "blobs": Blob.objects.count(),
        "blob_bytes": Blob.objects.aggregate(s=Sum("size"))["s"] or 0,
        "manifests": Manifest.objects.count(),
        "manifest_bytes": Manifest.objects.aggregate(s=Sum("size"))["s"] or 0,
        "tags": Tag.objects.count(),
        "linked_bytes": RepositoryBlob.objects.aggregate(s=Sum("blob__size"))["s"] or 0,
    }
    namespaces = {}
    for r in Repository.objects.all():
        total, public = namespaces.get(r.namespace, (0, 0))
        namespaces[r.namespace] = (total + 1, public + int(r.is_public))
    return per_repo, store, namespaces


def kept():
    per_repo = {r.pk: (r.tag_count, r.total_size) for r in Repository.objects.all()}
    rows = NamespaceCount.objects.filter(repositories__gt=0)
    return per_repo, counters.totals(), {n.namespace: (n.repositories, n.public_repositories) for n in rows}


def assert_exact():
    assert kept() == from_rows()


def run_at_once(work, workers):
    """work(worker) in `workers` threads, each on its own connection; the exceptions they raised."""
    errors = []

    def run(worker):
        try:
            work(worker)
        except Exception as exc:  # noqa: BLE001  returned to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_counts_follow_pushes_moves_untags_and_deletions(ops):
    ops.push_image("team/app", "1")
    ops.push_image("team/app", "2", layers=[b"two", b"shared"])
    ops.push_image("team/other", "1", layers=[b"shared"])
    assert_exact()
    assert Repository.objects.get(name="team/app").tag_count == 2
    ops.push_image("team/app", "1", layers=[b"moved"])  # the tag moves to another image
    assert_exact()
    blobs.mount("team/other", ops.sha256(b"two"), "team/app")
    assert_exact()
    manifests.delete("team/app", "2")  # untag
    assert_exact()
    data, _ = ops.push_image("team/app", "3", layers=[b"three"])
    manifests.delete("team/app", ops.sha256(data))  # the image and its tags
    assert_exact()
    repositories.delete_repository("team/other")
    assert_exact()
    repositories.set_visibility("team/app", False)
    Repository.objects.filter(name="team/app").update(namespace="team2")
    assert_exact()
    Tag.objects.filter(repository__name="team/app").update(repository=Repository.objects.create(name="x/moved"))
    assert_exact()


def test_garbage_collection_leaves_the_counts_exact_and_dates_the_snapshot(ops):
    ops.push_image("team/app", "1")
    data, _ = ops.push_image("team/app", "2", layers=[b"goes"])
    ops.push_blob("team/app", b"stray")
    manifests.delete("team/app", ops.sha256(data))
    Repository.objects.filter(name="team/app").update(tag_count=99)  # drifted (e.g. a restored backup)
    result = ops.collect(delete_untagged=True)
    assert result.blobs >= 1
    assert_exact()
    snap = StorageSnapshot.objects.get()
    linked = Blob.objects.filter(repository_links__isnull=False).distinct()
    assert snap.referenced_blobs == linked.count() and snap.orphaned_blobs == 0


def test_recount_command_repairs_drift(ops):
    ops.push_image("team/app", "1")
    Repository.objects.update(tag_count=7, total_size=1)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE images_storagecounter SET blobs = 1000")
    call_command("berth_recount", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert_exact()


def test_bulk_inserts_count_too(ops):
    ops.push_image("team/app", "1")
    repo = Repository.objects.get(name="team/app")
    manifest = Tag.objects.get(repository=repo).manifest
    Tag.objects.bulk_create(Tag(repository=repo, name=f"b{i}", manifest=manifest) for i in range(250))
    Blob.objects.bulk_create(Blob(digest=f"sha256:{i:064x}", size=i) for i in range(40))
    assert_exact()
    assert Blob.objects.aggregate(n=Count("pk"))["n"] == counters.totals()["blobs"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_concurrent_pushes_to_one_repository_count_every_tag(transactional_db, ops):
    ops.push_image("team/app", "seed")
    repo = Repository.objects.get(name="team/app")
    manifest = Tag.objects.get(repository=repo).manifest
    start = threading.Barrier(6)

    def push(worker):
        start.wait()
        for i in range(20):
            Tag.objects.create(repository=repo, name=f"w{worker}-{i}", manifest=manifest)
            Blob.objects.create(digest=f"sha256:{worker:032x}{i:032x}", size=i + 1)

    assert not run_at_once(push, 6)
    assert_exact()
    assert Repository.objects.get(pk=repo.pk).tag_count == 121


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_two_pushes_touching_rows_in_opposite_orders_both_commit(transactional_db, ops):
    """Each writer adds rows that the store's totals count, in an order the other reverses (a blob then a
    link, a collection deleting several): with a shared counter row per row id they waited on each other
    for good ("deadlock detected"). Both must commit, and the totals stay exact."""
    ops.push_image("team/a", "seed", layers=[b"a"])
    ops.push_image("team/b", "seed", layers=[b"b"])
    repos = [Repository.objects.get(name=n) for n in ("team/a", "team/b")]
    manifest = Tag.objects.filter(repository=repos[0]).get().manifest
    base = 1_000_000
    halfway = threading.Barrier(2, timeout=10)

    def push(worker):
        repo = repos[worker]
        ids = [base, base + 1] if worker == 0 else [base + 17, base + 16]  # row id % 16: 0, 1 and 1, 0
        with transaction.atomic():
            Tag.objects.create(id=ids[0], repository=repo, name="one", manifest=manifest)
            halfway.wait()
            Tag.objects.create(id=ids[1], repository=repo, name="two", manifest=manifest)

    assert not run_at_once(push, 2)
    assert_exact()


def test_totals_fold_into_one_row_and_stay_exact(ops, monkeypatch):
    monkeypatch.setattr(counters, "FOLD_AT", 5)
    for i in range(4):
        ops.push_image("team/app", str(i), layers=[f"layer {i}".encode()])
    assert StorageCounter.objects.count() > 5
    before = counters.totals()  # reads, then folds for the next reader
    assert StorageCounter.objects.count() == 1
    assert counters.totals() == before
    assert_exact()
