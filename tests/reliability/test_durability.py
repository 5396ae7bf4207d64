"""On the filesystem backend a blob is on disk before its name is, and its name before the 201.

A power cut can't be injected here, so this checks the order of the system
calls that make it safe: fsync the bytes, rename into place, fsync the folder
and every folder created for it up to the first that already existed.
"""

import os
import uuid

import pytest

from storage_backends import blobstore, paths, upload_staging
from tests.e2e.ops_helpers import sha256


@pytest.fixture
def syscalls(monkeypatch):
    """Record fsync (by path) and rename calls, in order."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("rename", str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def folders_up_to(path, root):
    folder, out = os.path.dirname(path), []
    while True:
        out.append(("fsync", folder))
        if folder == str(root):
            return out
        folder = os.path.dirname(folder)


def test_completed_upload_is_fsynced_before_and_after_its_rename(registry_storage, syscalls):
    data = os.urandom(300_000)
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    upload_staging.append(upload_id, 0, [data])
    staged = blobstore.local_path(paths.upload(upload_id))
    syscalls.clear()

    upload_staging.promote(upload_id, sha256(data), len(data))

    target = blobstore.blob_path(sha256(data))
    assert syscalls == [("fsync", staged), ("rename", target), *folders_up_to(target, registry_storage)]
    with open(target, "rb") as fh:
        assert fh.read() == data


def test_written_blob_is_fsynced_before_and_after_its_rename(registry_storage, syscalls):
    data = b'{"architecture": "amd64"}'
    blobstore.write_blob(sha256(data), [data])
    target = blobstore.blob_path(sha256(data))
    partial = [event for event in syscalls if event[0] == "fsync"][0]
    assert partial[1].startswith(target + ".partial-")
    assert syscalls == [partial, ("rename", target), *folders_up_to(target, registry_storage)]


def test_only_folders_that_are_new_are_synced_above_the_blob(registry_storage, syscalls):
    first, second = b"first blob", b"second blob"
    assert sha256(first)[7:9] != sha256(second)[7:9]  # different fan-out folders
    blobstore.write_blob(sha256(first), [first])
    syscalls.clear()
    blobstore.write_blob(sha256(second), [second])
    fan_out = os.path.dirname(blobstore.blob_path(sha256(second)))
    synced = [path for kind, path in syscalls if kind == "fsync" and ".partial-" not in path]
    # The fan-out folder is new: the blob's name lives in it, its own name in blobs/sha256; nothing higher.
    assert synced == [fan_out, os.path.dirname(fan_out)]


def test_a_blob_in_an_existing_fan_out_folder_syncs_only_that_folder(registry_storage, syscalls):
    first, neighbour = b"first blob", b"same fan-out 435"
    assert sha256(first)[7:9] == sha256(neighbour)[7:9]
    blobstore.write_blob(sha256(first), [first])
    syscalls.clear()
    blobstore.write_blob(sha256(neighbour), [neighbour])
    synced = [path for kind, path in syscalls if kind == "fsync" and ".partial-" not in path]
    assert synced == [os.path.dirname(blobstore.blob_path(sha256(neighbour)))]
