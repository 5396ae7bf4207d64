"""Garbage collection: what is marked, what goes, the grace window, dry runs, crashes and races."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from images import manifest_formats
from images.errors import ManifestBlobUnknown
from images.models import (
    BlobDeletion,
    GarbageCollectionRun,
    Manifest,
    RepositoryBlob,
    RepositoryManifest,
    Upload,
    V1Image,
)
from images.services import blobs, gc, manifests, repositories, uploads
from storage_backends import blobstore, upload_staging

pytestmark = pytest.mark.django_db


def test_tagged_content_stays_and_unreferenced_blobs_go(ops):
    data, used = ops.push_image("team/app", "1")
    stray = ops.push_blob("team/app", b"pushed, never used by a manifest")
    result = ops.collect()
    assert set(ops.pull("team/app", "1")) == set(used)
    assert not ops.has_row(stray) and not ops.has_bytes(stray)
    assert all(ops.has_row(d) and ops.has_bytes(d) for d in used)
    assert result.blobs == 1 and result.blob_links == 1
    assert result.blob_bytes == len(b"pushed, never used by a manifest")


def test_grace_window_keeps_young_content(ops):
    stray = ops.push_blob("team/app", b"young")
    result = gc.collect(grace=timedelta(hours=2))
    assert ops.has_row(stray) and ops.has_bytes(stray)
    assert result.blobs == 0 and result.blob_links == 0
    ops.collect(grace=timedelta(hours=2), now=ops.later(hours=3))
    assert not ops.has_row(stray)


def test_untagged_manifests_stay_unless_asked(ops, settings):
    settings.BERTH_TAG_HISTORY_DAYS = 0  # no tag history window (tests/activity covers it)
    first, first_blobs = ops.push_image("team/app", "v", layers=[b"first layer"])
    second, _ = ops.push_image("team/app", "v", layers=[b"second layer"])  # moves the tag
    ops.collect()
    assert ops.pull("team/app", ops.sha256(first))  # still pullable by digest
    result = ops.collect(delete_untagged=True)
    assert result.manifest_links == 1 and result.manifests == 1
    assert not Manifest.objects.filter(digest=ops.sha256(first)).exists()
    assert not ops.has_bytes(ops.sha256(b"first layer"))
    assert ops.pull("team/app", "v")


def test_index_children_and_referrers_are_reached_from_the_tag(ops, settings):
    settings.BERTH_TAG_HISTORY_DAYS = 0  # no tag history window (tests/activity covers it)
    index, children, used = ops.push_index("team/multi", "1")
    _, image_blobs = ops.push_image("team/multi", "img")
    subject = Manifest.objects.get(digest=manifests.get("team/multi", "img").digest)
    signature = ops.push_blob("team/multi", b"a signature")
    empty = ops.push_blob("team/multi", b"{}")
    referrer = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": manifest_formats.OCI_MANIFEST,
            "artifactType": "application/vnd.example.sig",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/octet-stream", "digest": signature, "size": 11}],
            "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        }
    ).encode()
    manifests.put("team/multi", ops.sha256(referrer), referrer, manifest_formats.OCI_MANIFEST)

    result = ops.collect(delete_untagged=True)
    assert result.manifests == 0 and result.blobs == 0
    assert ops.pull("team/multi", "1") and ops.pull("team/multi", ops.sha256(referrer))

    manifests.delete("team/multi", "img")  # untag the subject: its referrer goes with it
    manifests.delete("team/multi", "1")
    result = ops.collect(delete_untagged=True)
    assert result.manifests == 1 + len(children) + 1 + 1  # index, children, image, referrer
    assert not any(ops.has_bytes(d) for d in used + image_blobs + [signature])


def test_shared_blob_stays_while_another_repository_uses_it(ops):
    shared = b"base layer shared by two repositories"
    _, used_a = ops.push_image("team/a", "1", layers=[shared])
    ops.push_image("team/b", "1", layers=[shared, b"b's own"])
    repositories.delete_repository("team/b")
    ops.collect()
    assert ops.has_bytes(ops.sha256(shared)) and ops.pull("team/a", "1")
    assert not ops.has_bytes(ops.sha256(b"b's own"))
    repositories.delete_repository("team/a")
    result = ops.collect()
    assert not any(ops.has_bytes(d) for d in used_a)
    assert result.blobs == 2 and not Manifest.objects.exists()


def test_v1_image_layers_are_kept(ops):
    layer = ops.push_blob("team/v1", b"a v1 layer")
    RepositoryBlob.objects.all().delete()
    V1Image.objects.create(image_id="a" * 64, json=b"{}", layer=blobs.Blob.objects.get(digest=layer))
    ops.collect()
    assert ops.has_row(layer) and ops.has_bytes(layer)


def test_dry_run_reports_what_the_run_deletes(ops):
    ops.push_image("team/app", "keep")
    ops.push_blob("team/app", b"stray one")
    ops.push_blob("team/other", b"stray two!")
    repositories.delete_repository("team/other")
    upload = uploads.start("team/app")
    uploads.append(upload, [b"half a layer"])
    blobstore.write_blob(ops.sha256(b"orphan"), [b"orphan"])
    when = ops.later(hours=1)
    dry = ops.collect(dry_run=True, now=when)
    assert (dry.blobs, dry.blob_bytes, dry.orphans, dry.uploads) == (2, 19, 1, 1)
    assert ops.has_bytes(ops.sha256(b"stray one")) and Upload.objects.exists()
    real = ops.collect(now=when)
    assert (real.blobs, real.blob_bytes, real.orphans, real.orphan_bytes, real.uploads) == (2, 19, 1, 6, 1)
    assert real.bytes_freed == dry.bytes_freed == 19 + 6 + len(b"half a layer")
    assert not ops.has_bytes(ops.sha256(b"orphan")) and not Upload.objects.exists()
    assert not upload_staging.is_present(upload.uuid)


def test_orphan_bytes_respect_the_grace_window_by_age(ops):
    digest = ops.sha256(b"bytes with no row")
    blobstore.write_blob(digest, [b"bytes with no row"])
    gc.collect(grace=timedelta(hours=2))
    assert ops.has_bytes(digest)
    gc.collect(grace=timedelta(hours=2), now=ops.later(hours=3))
    assert not ops.has_bytes(digest)


def test_a_crash_between_rows_and_bytes_is_finished_by_the_next_run(ops):
    digest = ops.push_blob("team/app", b"doomed")
    RepositoryBlob.objects.all().delete()
    blob = blobs.Blob.objects.get(digest=digest)
    gone = gc._sweep_blob_rows([blob.pk], ops.later())  # rows committed; the process "dies" before the bytes
    assert gone == [(digest, 6)] and not ops.has_row(digest) and ops.has_bytes(digest)
    assert BlobDeletion.objects.filter(digest=digest).exists()
    result = gc.collect(grace=timedelta(hours=2))  # even a run that collects nothing new finishes the job
    assert not ops.has_bytes(digest) and not BlobDeletion.objects.exists()
    assert result.blob_bytes == 6


def test_a_push_after_the_row_went_wins_over_the_pending_byte_deletion(ops):
    digest = ops.push_blob("team/app", b"layer pushed again")
    RepositoryBlob.objects.all().delete()
    gc._sweep_blob_rows([blobs.Blob.objects.get(digest=digest).pk], ops.later())
    tomb = BlobDeletion.objects.get(digest=digest)
    ops.push_blob("team/app", b"layer pushed again")  # claims the digest back: the tombstone is gone
    assert not BlobDeletion.objects.exists()
    assert gc.delete_bytes(tomb.pk) == (False, None, 0)
    assert ops.has_row(digest) and ops.has_bytes(digest)


def test_an_upload_committing_while_its_old_row_is_swept_keeps_its_bytes(ops):
    data = b"layer racing the collector"
    digest = ops.push_blob("team/app", data)
    RepositoryBlob.objects.all().delete()
    upload = uploads.start("team/app")  # the same layer pushed again
    uploads.append(upload, [data])
    uploads.announce(upload, digest)  # intent recorded ...
    gc._sweep_blob_rows([blobs.Blob.objects.get(digest=digest).pk], ops.later())  # ... the old row goes
    tomb = BlobDeletion.objects.get(digest=digest)
    assert gc.delete_bytes(tomb.pk) == (False, digest, len(data))  # the intent keeps the bytes
    uploads.complete(upload, digest)  # ... and the commit lands
    assert ops.has_row(digest) and ops.has_bytes(digest) and not BlobDeletion.objects.exists()


def test_bytes_deleted_before_a_writer_announces_are_written_again(ops):
    data = b"collected, then pushed again"
    digest = ops.push_blob("team/app", data)
    RepositoryBlob.objects.all().delete()
    result = ops.collect()
    assert result.blobs == 1 and not ops.has_bytes(digest)
    ops.push_blob("team/other", data)
    assert ops.has_row(digest) and ops.has_bytes(digest)


def test_a_manifest_push_never_references_a_swept_link(ops):
    config, layer = b'{"os":"linux"}', b"late manifest layer"
    for data in (config, layer):
        ops.push_blob("team/app", data)
    ops.collect()  # the blobs were never used by a manifest: their links and rows go
    with pytest.raises(ManifestBlobUnknown):
        manifests.put("team/app", "1", ops.image_bytes(config, [layer]), manifest_formats.OCI_MANIFEST)
    assert not Manifest.objects.exists()


def test_uploads_in_progress_stay_within_grace_and_committing_ones_longer(ops):
    idle = uploads.start("team/app")
    committing = uploads.start("team/app")
    uploads.append(committing, [b"x"])
    uploads.announce(committing, ops.sha256(b"x"))
    gc.collect(grace=timedelta(hours=1))
    assert Upload.objects.count() == 2
    ops.collect(grace=timedelta(hours=1), now=ops.later(hours=2))
    assert list(Upload.objects.values_list("uuid", flat=True)) == [committing.uuid]
    assert not upload_staging.is_present(idle.uuid)
    ops.collect(grace=timedelta(hours=1), now=ops.later(days=2))
    assert not Upload.objects.exists()


def test_stray_staging_folders_go(ops, registry_storage):
    stray = registry_storage / "uploads" / "0b5c0c9e-0000-4000-8000-000000000000"
    stray.mkdir(parents=True)
    (stray / "data").write_bytes(b"left behind")
    result = ops.collect(now=ops.later(hours=1))
    assert not stray.exists() and result.uploads == 1


def test_untagged_is_decided_per_repository(ops):
    data, used = ops.push_image("team/a", "1")
    for digest in used:  # the same image pushed by digest into team/b, untagged there
        blobs.link("team/b", digest, blobs.Blob.objects.get(digest=digest).size)
    manifests.put("team/b", ops.sha256(data), data, manifest_formats.OCI_MANIFEST)
    result = ops.collect(delete_untagged=True)
    assert (result.manifest_links, result.blob_links, result.manifests, result.blobs) == (1, 2, 0, 0)
    assert list(RepositoryManifest.objects.values_list("repository__name", flat=True)) == ["team/a"]
    assert ops.pull("team/a", "1")


def test_command_prints_a_summary_and_records_the_run(ops, capsys):
    ops.push_blob("team/app", b"stray")
    call_command("garbage_collect", "--dry-run", "--grace", "0s")
    out = capsys.readouterr().out
    assert "garbage collection (dry run): would delete" in out
    assert ops.has_row(ops.sha256(b"stray"))
    run = GarbageCollectionRun.objects.get()
    assert run.dry_run and run.status == "done" and run.summary["blobs"] == 1
    call_command("garbage_collect", "--grace", "0s", "--json")
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1])["blobs"] == 1
    assert not ops.has_row(ops.sha256(b"stray"))
    assert GarbageCollectionRun.objects.filter(dry_run=False, blobs_deleted=1).exists()


def test_command_rejects_a_bad_grace():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="invalid duration"):
        call_command("garbage_collect", "--grace", "soon")


def test_a_failed_run_is_recorded(ops, monkeypatch):
    monkeypatch.setattr(gc, "plan", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("storage down")))
    with pytest.raises(RuntimeError):
        gc.run(timedelta(0))
    run = GarbageCollectionRun.objects.get()
    assert run.status == "failed" and "storage down" in run.error and run.finished_at


def test_durations():
    from images import durations

    assert durations.parse("2h") == timedelta(hours=2)
    assert durations.parse("1h30m") == timedelta(minutes=90)
    assert durations.parse("90") == timedelta(seconds=90)
    assert durations.parse("0s") == timedelta(0)
    assert durations.format(timedelta(hours=2)) == "2h"
    for bad in ("", "h", "2x", "1h2x", "-1s"):
        with pytest.raises(ValueError):
            durations.parse(bad)
    assert timezone.now()


def test_progress_bars_only_on_a_terminal(ops):
    import io

    from images.management.progress import factory
    from images.progress import NullProgress

    ops.push_blob("team/app", b"stray")
    out = io.StringIO()
    ops.collect(progress=factory(out, force=True))
    assert "marking" in out.getvalue() and "blob rows" in out.getvalue()
    assert factory(io.StringIO()) is NullProgress  # redirected output: no bars


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across connections: PostgreSQL")
def test_a_blob_commit_waits_for_the_collector_and_recreates_the_row_it_swept(ops):
    data = b"layer committed while the collector sweeps its old row"
    digest = ops.push_blob("team/app", data)
    old = blobs.Blob.objects.get(digest=digest)
    RepositoryBlob.objects.all().delete()
    upload = uploads.start("team/other")
    uploads.append(upload, [data])
    swept = threading.Event()

    def collector():  # the collector's sweep, its transaction held open a moment longer
        try:
            with transaction.atomic():
                gc._sweep_blob_rows([old.pk], ops.later())
                swept.set()
                time.sleep(0.5)
        finally:
            connections.close_all()

    thread = threading.Thread(target=collector)
    thread.start()
    assert swept.wait(10)
    blob = uploads.complete(upload, digest)  # waits on the row the sweep locked and deleted
    thread.join()
    assert blob.pk != old.pk and blobs.stat("team/other", digest).id == blob.pk
    assert ops.has_bytes(digest)
