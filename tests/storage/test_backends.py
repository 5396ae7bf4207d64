"""One storage suite, run unchanged over every backend (see conftest.py)."""

import hashlib
import os
import uuid

import pytest
import requests

from images import digests
from storage_backends import blobstore, paths, upload_staging

MIB = 1024 * 1024


def blocks_of(data, size=256 * 1024):
    return [data[i : i + size] for i in range(0, len(data), size)]


def forget_hashers(monkeypatch):
    """As if the next request landed in another server process."""
    monkeypatch.setattr(upload_staging, "_hashers", type(upload_staging._hashers)())


def test_blob_roundtrip_ranges_and_delete(backend):
    data = os.urandom(3 * MIB + 123)
    digest = digests.of_bytes(data)
    assert not blobstore.exists(digest)
    blobstore.write_blob(digest, blocks_of(data))
    assert blobstore.exists(digest)
    assert blobstore.size(digest) == len(data)
    assert b"".join(blobstore.read_blob(digest)) == data
    assert b"".join(blobstore.read_blob(digest, 10, 20)) == data[10:21]
    assert b"".join(blobstore.read_blob(digest, len(data) - 5)) == data[-5:]
    with blobstore.open_blob(digest) as fh:
        assert fh.read(100) == data[:100]
    blobstore.delete(digest)
    assert not blobstore.exists(digest)
    blobstore.delete(digest)  # deleting twice is fine


def test_missing_blob_reads_raise_file_not_found(backend):
    digest = digests.of_bytes(b"never stored")
    with pytest.raises(FileNotFoundError):
        b"".join(blobstore.read_blob(digest))
    with pytest.raises(FileNotFoundError):
        blobstore.size(digest)


@pytest.mark.parametrize("other_process", [False, True])
def test_upload_in_chunks_then_promote(backend, monkeypatch, other_process):
    data = os.urandom(2 * MIB + 7)
    chunks = [data[:MIB], data[MIB : 2 * MIB], data[2 * MIB :]]
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    offset = 0
    for chunk in chunks:
        if other_process:
            forget_hashers(monkeypatch)
        offset = upload_staging.append(upload_id, offset, blocks_of(chunk))
    assert offset == len(data)
    if other_process:
        forget_hashers(monkeypatch)
    digest = upload_staging.digest_of(upload_id, offset)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    upload_staging.promote(upload_id, digest, offset)
    assert b"".join(blobstore.read_blob(digest)) == data
    upload_staging.discard(upload_id)  # after the rows (images.services.uploads.commit)
    assert blobstore.adapter().list(paths.upload_dir(upload_id)) == []


def test_promote_keeps_the_staging_for_a_retried_commit(backend, monkeypatch):
    """A commit killed after the bytes have their address but before its rows: the retry re-checks the
    digest against the staging, so promote leaves it whole until the rows are in (then discard)."""
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    offset = upload_staging.append(upload_id, 0, [b"chunk one, ", b"chunk two"])
    digest = digests.of_bytes(b"chunk one, chunk two")
    if not blobstore.adapter().supports_append:  # the filesystem moves its one staging file into place
        upload_staging.promote(upload_id, digest, offset)
        forget_hashers(monkeypatch)
        assert upload_staging.digest_of(upload_id, offset) == digest
    upload_staging.promote(upload_id, digest, offset)
    upload_staging.discard(upload_id)
    assert b"".join(blobstore.read_blob(digest)) == b"chunk one, chunk two"


def test_rewritten_chunk_replaces_the_torn_tail(backend, monkeypatch):
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    upload_staging.append(upload_id, 0, [b"hello "])
    upload_staging.append(upload_id, 6, [b"wrong bytes"])
    forget_hashers(monkeypatch)
    offset = upload_staging.append(upload_id, 6, [b"world"])  # the client retries the chunk at offset 6
    assert upload_staging.digest_of(upload_id, offset) == digests.of_bytes(b"hello world")


def test_a_late_copy_of_an_old_chunk_leaves_the_newer_chunks_alone(backend, monkeypatch):
    """A client gave up on a chunk and sent it again (maybe to another instance), the session moved on,
    and only then does the first request write its copy: the bytes staged after it stay."""
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    offset = upload_staging.append(upload_id, 0, [b"hello "])
    offset = upload_staging.append(upload_id, offset, [b"world"])
    upload_staging.append(upload_id, 0, [b"hello "])  # the request the client had given up on
    forget_hashers(monkeypatch)
    digest = digests.of_bytes(b"hello world")
    assert upload_staging.digest_of(upload_id, offset) == digest
    upload_staging.promote(upload_id, digest, offset)
    assert b"".join(blobstore.read_blob(digest)) == b"hello world"


def test_empty_upload_and_discard(backend):
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    offset = upload_staging.append(upload_id, 0, [])
    digest = upload_staging.digest_of(upload_id, offset)
    assert digest == digests.of_bytes(b"")
    upload_staging.promote(upload_id, digest, offset)
    assert blobstore.size(digest) == 0

    other = uuid.uuid4()
    upload_staging.create(other)
    upload_staging.append(other, 0, [b"abandoned"])
    upload_staging.discard(other)
    assert blobstore.adapter().list(paths.upload_dir(other)) == []


def test_presigned_urls_where_the_backend_has_them(backend):
    data = os.urandom(1000)
    digest = digests.of_bytes(data)
    blobstore.write_blob(digest, [data])
    url = blobstore.redirect_url(digest, expires=60)
    if backend in ("filesystem", "swift"):
        assert url is None
        return
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == data
    ranged = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == data[10:20]


def test_check_reports_a_reachable_store(backend):
    blobstore.check()


def test_promote_takes_only_the_checked_bytes(backend):
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    offset = upload_staging.append(upload_id, 0, [b"hello "])
    if blobstore.adapter().supports_append:  # a failed chunk's torn tail, left past the offset
        with open(blobstore.local_path(paths.upload(upload_id)), "ab") as fh:
            fh.write(b"torn tail")
    digest = digests.of_bytes(b"hello ")
    upload_staging.promote(upload_id, digest, offset)
    assert b"".join(blobstore.read_blob(digest)) == b"hello "


def test_promote_of_staging_that_is_gone_writes_nothing(backend):
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    offset = upload_staging.append(upload_id, 0, [b"staged, then lost"])
    upload_staging.discard(upload_id)  # as a bucket lifecycle rule or a wiped disk would
    digest = digests.of_bytes(b"staged, then lost")
    with pytest.raises(FileNotFoundError):
        upload_staging.promote(upload_id, digest, offset)
    assert not blobstore.exists(digest)


def test_promote_of_short_staging_writes_nothing(backend):
    upload_id = uuid.uuid4()
    upload_staging.create(upload_id)
    upload_staging.append(upload_id, 0, [b"first chunk "])
    digest = digests.of_bytes(b"first chunk second chunk")
    with pytest.raises(FileNotFoundError):
        upload_staging.promote(upload_id, digest, len(b"first chunk second chunk"))  # the second never landed
    assert not blobstore.exists(digest)
