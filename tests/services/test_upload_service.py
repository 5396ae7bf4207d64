"""Upload sessions: bytes before rows, verified digests, nothing left behind on failure."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from images import digests
from images.errors import BlobUploadUnknown, DigestInvalid, RangeInvalid, SizeInvalid
from images.models import Blob, BlobDeletion, Repository, RepositoryBlob, Upload
from images.services import blobs, repositories, upload_sql, upload_store, uploads, uploads_purge
from storage_backends import upload_staging

pytestmark = pytest.mark.django_db

DATA = b"some layer bytes" * 1000


def test_complete_upload_stores_bytes_then_rows(blob_files, upload_dirs):
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA[:100], DATA[100:5000]])
    uploads.append(upload, [DATA[5000:]])
    blob = uploads.complete(upload, digests.of_bytes(DATA))

    assert blob.digest == digests.of_bytes(DATA)
    assert blob.size == len(DATA)
    assert RepositoryBlob.objects.filter(repository__name="team/app", blob=blob).exists()
    assert Repository.objects.get(name="team/app").namespace == "team"
    _, encoded = digests.parse(blob.digest)
    assert blob_files() == [f"blobs/sha256/{encoded[:2]}/{encoded}"]
    assert not Upload.objects.exists()
    assert upload_dirs() == []


def test_digest_mismatch_leaves_no_blob_row_and_no_blob_file(blob_files):
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA])
    with pytest.raises(DigestInvalid) as excinfo:
        uploads.complete(upload, digests.of_bytes(b"something else"))
    assert excinfo.value.detail == {"expected": digests.of_bytes(b"something else"), "actual": digests.of_bytes(DATA)}
    assert not Blob.objects.exists()
    assert not RepositoryBlob.objects.exists()
    assert not Repository.objects.exists()
    assert blob_files() == []


def test_digest_mismatch_with_final_chunk_leaves_nothing(blob_files):
    upload = uploads.start("team/app")
    with pytest.raises(DigestInvalid):
        uploads.complete(upload, "sha256:" + "0" * 64, blocks=[DATA])
    assert not Blob.objects.exists()
    assert blob_files() == []


def test_size_mismatch_leaves_no_blob(blob_files):
    upload = uploads.start("team/app")
    with pytest.raises(SizeInvalid):
        uploads.complete(upload, digests.of_bytes(DATA), blocks=[DATA], expected_size=len(DATA) + 1)
    assert not Blob.objects.exists()
    assert blob_files() == []


def test_sha512_digests_are_verified_and_stored_under_their_algorithm(blob_files):
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA])
    blob = uploads.complete(upload, digests.of_bytes(DATA, "sha512"))
    assert blob.digest.startswith("sha512:")
    assert blob_files()[0].startswith("blobs/sha512/")


def test_every_chunk_touches_the_session_so_a_long_upload_is_not_purged_as_abandoned():
    upload = uploads.start("r")
    hour_ago = timezone.now() - timedelta(hours=1)
    Upload.objects.filter(pk=upload.pk).update(started_at=hour_ago, updated_at=hour_ago)
    uploads.append(uploads.get("r", upload.uuid), [b"01234"])
    assert Upload.objects.get(pk=upload.pk).updated_at > hour_ago + timedelta(minutes=59)
    sessions, _ = uploads_purge.plan(cutoff=timezone.now() - timedelta(minutes=30))
    assert upload.pk not in [pk for pk, _, _ in sessions]


def test_chunks_must_arrive_in_order():
    upload = uploads.start("r")
    uploads.append(upload, [b"01234"], start=0)
    with pytest.raises(RangeInvalid) as excinfo:
        uploads.append(upload, [b"abcde"], start=10)
    assert excinfo.value.status == 416
    assert excinfo.value.headers["Range"] == "0-4"
    assert excinfo.value.headers["Docker-Upload-UUID"] == str(upload.uuid)
    assert Upload.objects.get(pk=upload.pk).offset == 5
    uploads.append(upload, [b"56789"], start=5)
    assert uploads.complete(upload, digests.of_bytes(b"0123456789")).size == 10


def test_a_chunk_that_fails_midway_is_discarded_on_the_next_append():
    def broken_stream():
        yield b"garbage that will not count"
        raise SizeInvalid("request body shorter than Content-Length")

    upload = uploads.start("r")
    uploads.append(upload, [b"head-"])
    with pytest.raises(SizeInvalid):
        uploads.append(upload, broken_stream())
    assert Upload.objects.get(pk=upload.pk).offset == 5
    uploads.append(upload, [b"tail"])
    assert uploads.complete(upload, digests.of_bytes(b"head-tail")).size == 9


def _another_process(monkeypatch):
    monkeypatch.setattr(upload_staging, "_hashers", type(upload_staging._hashers)())  # a fresh process knows no hasher


def test_complete_in_another_process_checks_the_digest_recorded_with_the_last_chunk(monkeypatch):
    upload = uploads.start("r")
    uploads.append(upload, [DATA])
    assert Upload.objects.get(pk=upload.pk).staged_digest == digests.of_bytes(DATA)
    _another_process(monkeypatch)

    def no_reading_back(*args):
        raise AssertionError("the staged bytes were read back")

    monkeypatch.setattr(upload_staging, "_staged_blocks", no_reading_back)
    with pytest.raises(DigestInvalid) as excinfo:
        uploads.complete(uploads.get("r", upload.uuid), digests.of_bytes(b"other"))
    assert excinfo.value.detail["actual"] == digests.of_bytes(DATA)
    assert uploads.complete(uploads.get("r", upload.uuid), digests.of_bytes(DATA)).size == len(DATA)


def test_a_first_chunk_in_another_process_than_the_post_is_hashed_as_it_is_written(monkeypatch):
    upload = uploads.start("r")
    _another_process(monkeypatch)  # with 3 workers, 2 PATCHes in 3 land away from their POST
    uploads.append(uploads.get("r", upload.uuid), [DATA])
    assert Upload.objects.get(pk=upload.pk).staged_digest == digests.of_bytes(DATA)
    monkeypatch.setattr(upload_staging, "_staged_blocks", lambda *args: pytest.fail("the staged bytes were read back"))
    _another_process(monkeypatch)
    assert uploads.complete(uploads.get("r", upload.uuid), digests.of_bytes(DATA)).size == len(DATA)


def test_complete_rehashes_when_the_last_chunk_came_without_the_running_hash(monkeypatch):
    upload = uploads.start("r")
    uploads.append(upload, [DATA[:5000]])
    _another_process(monkeypatch)  # the next chunk lands in a process that cannot continue the hash
    uploads.append(uploads.get("r", upload.uuid), [DATA[5000:]])
    assert Upload.objects.get(pk=upload.pk).staged_digest == ""
    with pytest.raises(DigestInvalid):
        uploads.complete(uploads.get("r", upload.uuid), digests.of_bytes(DATA[:5000]))
    _another_process(monkeypatch)
    assert uploads.complete(uploads.get("r", upload.uuid), digests.of_bytes(DATA)).size == len(DATA)


def test_a_recorded_sha256_does_not_answer_for_a_sha512_digest(monkeypatch):
    upload = uploads.start("r")
    uploads.append(upload, [DATA])
    _another_process(monkeypatch)
    blob = uploads.complete(uploads.get("r", upload.uuid), digests.of_bytes(DATA, "sha512"))
    assert blob.digest == digests.of_bytes(DATA, "sha512")


def test_identical_content_is_stored_once(blob_files):
    for repository in ("a/one", "b/two"):
        upload = uploads.start(repository)
        uploads.complete(upload, digests.of_bytes(DATA), blocks=[DATA])
    assert Blob.objects.count() == 1
    assert RepositoryBlob.objects.count() == 2
    assert len(blob_files()) == 1


def test_a_session_purged_while_committing_commits_nothing(blob_files, monkeypatch):
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA])
    promote = upload_staging.promote

    def purged_meanwhile(upload_id, digest, size):
        promote(upload_id, digest, size)
        Upload.objects.filter(uuid=upload_id).delete()  # purge_uploads, while the bytes moved

    monkeypatch.setattr(upload_staging, "promote", purged_meanwhile)
    with pytest.raises(BlobUploadUnknown):
        uploads.complete(upload, digests.of_bytes(DATA))
    assert not Blob.objects.exists() and not RepositoryBlob.objects.exists()


only_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's one-statement path")


@only_postgresql
def test_a_put_of_the_recorded_digest_is_claimed_and_committed_in_two_statements(django_assert_num_queries):
    """Plus one: the namespace's quota check and usage charge (policies/services/quotas.admit_blob)."""
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA])
    digest = digests.of_bytes(DATA)
    BlobDeletion.objects.create(digest=digest, size=len(DATA))  # the collector was about to delete these bytes
    repositories.get_or_create("team/app")
    with django_assert_num_queries(3):
        blob = uploads.complete_staged("team/app", str(upload.uuid), digest)
    assert blob.digest == digest and blob.size == len(DATA)
    assert RepositoryBlob.objects.filter(repository__name="team/app", blob=blob).exists()
    assert not BlobDeletion.objects.exists() and not Upload.objects.exists()


@only_postgresql
def test_the_first_blob_put_of_a_repository_creates_it():
    upload = uploads.start("team/new")
    uploads.append(upload, [DATA])
    blob = uploads.complete_staged("team/new", upload.uuid, digests.of_bytes(DATA))
    assert Repository.objects.get(name="team/new").namespace == "team"
    assert RepositoryBlob.objects.filter(repository__name="team/new", blob=blob).exists()


@only_postgresql
def test_a_put_the_recorded_digest_does_not_answer_claims_nothing():
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA])
    good, other = digests.of_bytes(DATA), digests.of_bytes(b"other")
    BlobDeletion.objects.create(digest=other)
    for repository, upload_id, digest in [
        ("team/app", upload.uuid, other),  # the bytes are not these
        ("team/other", upload.uuid, good),  # another repository's session
        ("team/app", "not-a-uuid", good),
        ("team/app", uuid.uuid4(), good),
        ("team/app", upload.uuid, digests.of_bytes(DATA, "sha512")),  # recorded as sha256
    ]:
        assert uploads.complete_staged(repository, upload_id, digest) is None
    assert BlobDeletion.objects.filter(digest=other).exists()  # a failed claim cancels no deletion
    assert Upload.objects.get(pk=upload.pk).digest == ""  # and records no intent
    assert not Blob.objects.exists()


def test_a_put_whose_staged_bytes_are_gone_is_upload_unknown(blob_files, monkeypatch):
    upload = uploads.start("team/app")
    uploads.append(upload, [DATA])
    upload_staging.discard(upload.uuid)  # the staging folder lost between the last chunk and the PUT
    _another_process(monkeypatch)  # the PUT lands where the recorded digest is all there is
    with pytest.raises(BlobUploadUnknown):
        if uploads.complete_staged("team/app", upload.uuid, digests.of_bytes(DATA)) is None:
            uploads.complete(uploads.get("team/app", upload.uuid), digests.of_bytes(DATA))
    assert not Blob.objects.exists() and blob_files() == []


@pytest.mark.parametrize("public", [True, False])
def test_a_first_push_creates_its_repository_as_configured(settings, public):
    settings.REGISTRY = {**settings.REGISTRY, "NEW_REPOSITORIES_PUBLIC": public}
    upload = uploads.start("team/new")
    uploads.append(upload, [DATA])
    blob = uploads.complete_staged("team/new", upload.uuid, digests.of_bytes(DATA))
    blob = blob or uploads.complete(uploads.get("team/new", upload.uuid), digests.of_bytes(DATA))
    repo = Repository.objects.get(name="team/new")
    assert (repo.namespace, repo.is_public, repo.description) == ("team", public, "")
    assert list(RepositoryBlob.objects.values_list("repository__name", "blob__digest")) == [("team/new", blob.digest)]


def test_every_database_has_every_step_of_the_upload_store():
    """The same Python runs on PostgreSQL and SQLite; a step written for one database only would fail on
    the other (CI runs PostgreSQL, `make run` SQLite)."""
    assert upload_sql.POSTGRESQL.keys() == upload_sql.SQLITE.keys()
    assert upload_store.store().statements is upload_sql.for_vendor(connection.vendor)


def test_a_repository_is_created_once_and_keeps_its_first_creators_values():
    """A mirror (or a first push) creates the repository; later pushes, mounts and manifests find that row."""
    created = repositories.get_or_create("team/app", public=False, description="Cache of app")
    upload = uploads.start("team/app")
    uploads.complete(upload, digests.of_bytes(DATA), blocks=[DATA])
    blobs.link("team/app", digests.of_bytes(DATA), len(DATA))
    again = repositories.get_or_create("team/app")
    repo = Repository.objects.get()
    assert created.pk == again.pk == repo.pk
    assert (repo.name, repo.namespace, repo.is_public, repo.description) == ("team/app", "team", False, "Cache of app")
    assert RepositoryBlob.objects.filter(repository=repo).count() == 1


@pytest.mark.parametrize("existing", [False, True])
def test_a_session_purged_while_its_blob_commits_leaves_no_rows(blob_files, monkeypatch, existing):
    if existing:
        repositories.get_or_create("team/new")
    upload = uploads.start("team/new")
    uploads.append(upload, [DATA])
    promote = upload_staging.promote

    def promote_then_purged(*args):
        promote(*args)
        Upload.objects.filter(pk=upload.pk).delete()  # the purge, between the bytes and the rows

    monkeypatch.setattr(upload_staging, "promote", promote_then_purged)
    with pytest.raises(BlobUploadUnknown):
        if uploads.complete_staged("team/new", upload.uuid, digests.of_bytes(DATA)) is None:
            uploads.complete(uploads.get("team/new", upload.uuid), digests.of_bytes(DATA))
    # A first push that failed leaves no empty repository in the catalog; an existing one stays.
    assert list(Repository.objects.values_list("name", flat=True)) == (["team/new"] if existing else [])
    assert not Blob.objects.exists() and not RepositoryBlob.objects.exists()


def test_cancel_removes_row_and_scratch_and_is_safe_twice(upload_dirs):
    upload = uploads.start("r")
    uploads.append(upload, [DATA])
    assert upload_dirs() == [str(upload.uuid)]
    uploads.cancel(upload)
    uploads.cancel(upload)
    assert upload_dirs() == []
    with pytest.raises(BlobUploadUnknown):
        uploads.get("r", upload.uuid)


def test_get_finds_a_session_only_in_its_repository():
    upload = uploads.start("r")
    uploads.append(upload, [b"01234"])
    found = uploads.get("r", str(upload.uuid))
    assert found == upload
    assert (found.uuid, found.repository_name, found.offset, found.staged_digest) == (
        upload.uuid,
        "r",
        5,
        digests.of_bytes(b"01234"),
    )
    assert found.started_at == Upload.objects.get(pk=upload.pk).started_at
    for repository, upload_id in [("other", upload.uuid), ("r", "not-a-uuid"), ("r", ""), ("r", "0" * 32)]:
        with pytest.raises(BlobUploadUnknown):
            uploads.get(repository, upload_id)


def test_append_to_a_session_whose_bytes_are_gone():
    upload = uploads.start("r")
    upload_staging.discard(upload.uuid)
    with pytest.raises(BlobUploadUnknown):
        uploads.append(upload, [b"x"])


@pytest.mark.parametrize(("offset", "expected"), [(0, "0-0"), (1, "0-0"), (2, "0-1"), (1000, "0-999")])
def test_range_header(offset, expected):
    assert uploads.range_header(offset) == expected
