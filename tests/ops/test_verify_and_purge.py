"""verify_blobs (fsck) and purge_uploads on pushed content."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from images.models import Blob, RepositoryBlob, Upload
from images.services import uploads, verify
from storage_backends import blobstore, paths, upload_staging

pytestmark = pytest.mark.django_db


def corrupt(registry_storage, digest, data=b"flipped bits"):
    (registry_storage / paths.blob(digest)).write_bytes(data)


def test_intact_store_passes(ops, capsys):
    ops.push_image("team/app", "1")
    call_command("verify_blobs")
    assert "verified 2 of 2 blob(s)" in capsys.readouterr().out


def test_corrupt_and_missing_blobs_fail_with_exit_status_1(ops, registry_storage, capsys):
    _, (config, layer) = ops.push_image("team/app", "1")
    extra = ops.push_blob("team/app", b"will vanish")
    corrupt(registry_storage, layer)
    blobstore.delete(extra)
    with pytest.raises(CommandError) as raised:
        call_command("verify_blobs")
    assert raised.value.returncode == 1
    out = capsys.readouterr().out
    assert f"CORRUPT {layer}" in out and "(in team/app)" in out
    assert f"MISSING {extra}" in out
    assert "1 missing, 1 corrupt" in out


def test_quarantine_moves_bytes_aside_and_unlinks_so_a_push_heals(ops, registry_storage):
    data, (config, layer) = ops.push_image("team/app", "1")
    corrupt(registry_storage, layer)
    result = verify.verify(quarantine=True)
    assert [p.kind for p in result.problems] == ["corrupt"] and result.unlinked == 1
    assert (registry_storage / paths.quarantine(layer)).read_bytes() == b"flipped bits"
    assert not blobstore.exists(layer) and not RepositoryBlob.objects.filter(blob__digest=layer).exists()
    assert Blob.objects.filter(digest=layer).exists()  # the manifest still references it
    ops.push_image("team/app", "1")  # the client finds the layer absent and uploads it again
    assert ops.pull("team/app", "1") and verify.verify().ok


def test_sample_and_digest_selection(ops, registry_storage):
    for i in range(10):
        ops.push_blob("team/app", f"blob {i}".encode())
    assert verify.verify(sample=3, seed=1).checked == 3
    assert verify.verify(percent=50, seed=1).checked == 5
    one = ops.sha256(b"blob 4")
    corrupt(registry_storage, one)
    result = verify.verify(digest_list=[one])
    assert result.checked == 1 and result.problems[0].digest == one


def test_purge_uploads_command(ops, capsys):
    old = uploads.start("team/app")
    uploads.append(old, [b"abandoned bytes"])
    Upload.objects.filter(pk=old.pk).update(updated_at=ops.later(days=-3))
    fresh = uploads.start("team/app")
    call_command("purge_uploads", "--older-than", "1d", "--dry-run")
    assert "would purge 1 upload session(s)" in capsys.readouterr().out
    assert Upload.objects.count() == 2
    call_command("purge_uploads", "--older-than", "1d")
    assert "purged 1 upload session(s) and 0 stray staging folder(s), 15 bytes" in capsys.readouterr().out
    assert list(Upload.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not upload_staging.is_present(old.uuid) and upload_staging.is_present(fresh.uuid)
