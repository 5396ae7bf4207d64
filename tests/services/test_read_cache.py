"""The read cache (images/services/read_cache.py): hot reads answered from the process's memory, and every
change to what they read seen by the very next read, whoever made it (another session's plain SQL, this
process's services, the admin). Both databases: PostgreSQL tells by NOTIFY, SQLite by a change count.
tests/e2e/test_two_instances.py runs the same against two real servers sharing one database."""

import logging
import os
import signal
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from images.errors import ManifestUnknown, NameUnknown
from images.models import Manifest, Tag
from images.services import manifests, read_cache, tags
from tests.support.registry import OCI_MANIFEST, push_image, sha256

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def listening():
    """On PostgreSQL, this process's listening session is opened by its thread at the first cached read;
    until it listens nothing is cached (reads go to the database). Wait for it, so that tests see caching."""
    read_cache.lookup(("warm-up",), lambda: None)
    if connection.vendor == "postgresql":
        seen_within(5, lambda: connection._berth_listener[2].conn is not None, True)


@pytest.fixture
def other_session():
    """Another database session, outside Django: what another process or instance would run."""
    session = connection.get_new_connection(connection.get_connection_params())
    if connection.vendor == "postgresql":
        session.autocommit = True

    def run(sql, params=(), settle=True):
        cursor = session.cursor()
        cursor.execute(sql.replace("%s", "?") if connection.vendor == "sqlite" else sql, params)
        if connection.vendor == "sqlite":
            session.commit()
        cursor.close()
        if settle:  # every change committed so far taken in (PostgreSQL's notices; SQLite needs no wait)
            read_cache.settle()

    yield run
    session.close()


def two_images():
    first = push_image("team/app", "v1", config=b'{"n": 1}')
    second = push_image("team/app", "other", config=b'{"n": 2}')
    return sha256(first), sha256(second)


def lookups(queries):
    return [q["sql"] for q in queries if "images_tag" in q["sql"] or "images_manifest" in q["sql"]]


def test_a_repeated_read_is_answered_without_the_lookup():
    digest, _ = two_images()
    assert manifests.get("team/app", "v1").digest == digest

    with CaptureQueriesContext(connection) as queries:
        again = manifests.get("team/app", "v1")
        listed = tags.list_tags("team/app")
    assert again.digest == digest and again.payload == bytes(Manifest.objects.get(digest=digest).payload)
    with CaptureQueriesContext(connection) as queries:
        assert manifests.get("team/app", "v1").digest == digest
        assert tags.list_tags("team/app") == listed
        assert tags.list_repositories() == (["team/app"], False)
        assert tags.list_repositories() == (["team/app"], False)
    assert lookups(queries.captured_queries) == []


def seen_within(seconds, read, expected):
    deadline = time.monotonic() + seconds
    while read() != expected:
        assert time.monotonic() < deadline, f"still {read()!r} after {seconds} s"
        time.sleep(0.001)


def test_a_tag_moved_by_another_session_is_seen_as_soon_as_the_database_says_so(other_session):
    first, second = two_images()
    ids = dict(Manifest.objects.values_list("digest", "id"))
    for round_ in range(60):  # each round: a read cached, a change by plain SQL elsewhere, the next reads
        now, then = (first, second) if round_ % 2 else (second, first)
        assert manifests.get("team/app", "v1").digest == then
        settle = round_ % 3 == 0  # what a request that wrote does before it answers (ChangesSettledMiddleware)
        other_session("UPDATE images_tag SET manifest_id = %s WHERE name = 'v1'", [ids[now]], settle=settle)
        if settle:
            assert manifests.get("team/app", "v1").digest == now
        else:  # PostgreSQL's notice on its way (SQLite: no wait)
            seen_within(2, lambda: manifests.get("team/app", "v1").digest, now)


def test_a_manifest_deleted_elsewhere_and_a_new_tag_are_seen_at_once(other_session):
    first, second = two_images()
    assert manifests.get("team/app", f"{first}").digest == first
    assert tags.list_tags("team/app") == (["other", "v1"], False)
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", "v2")

    manifest_id = Manifest.objects.get(digest=second).id
    other_session(
        "INSERT INTO images_tag (repository_id, name, manifest_id, v1_metadata, updated_at, pull_count, "
        "sort_key) SELECT repository_id, 'v2', manifest_id, '{}', updated_at, 0, '' FROM images_tag "
        "WHERE manifest_id = %s",
        [manifest_id],
    )
    assert manifests.get("team/app", "v2").digest == second
    assert tags.list_tags("team/app") == (["other", "v1", "v2"], False)

    manifests.delete("team/app", first)  # through this process's services (a request would settle after it)
    read_cache.settle()
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", first)
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", "v1")
    assert tags.list_tags("team/app") == (["other", "v2"], False)


def test_a_new_repository_is_in_the_next_catalog_and_a_deleted_one_is_gone(other_session):
    assert tags.list_repositories() == ([], False)
    with pytest.raises(NameUnknown):
        tags.list_tags("team/app")
    two_images()
    assert tags.list_repositories() == (["team/app"], False)
    assert tags.list_tags("team/app", n=1) == (["other"], True)

    other_session("UPDATE images_repository SET name = 'team/renamed' WHERE name = 'team/app'")
    assert tags.list_repositories() == (["team/renamed"], False)
    with pytest.raises(NameUnknown):
        tags.list_tags("team/app", n=1)


def test_reads_inside_a_transaction_see_its_changes_and_leave_nothing_behind():
    first, second = two_images()
    assert manifests.get("team/app", "v1").digest == first  # cached
    with pytest.raises(RuntimeError), transaction.atomic():
        Tag.objects.filter(name="v1").update(manifest=Manifest.objects.get(digest=second))
        assert manifests.get("team/app", "v1").digest == second
        raise RuntimeError("rolled back")
    assert manifests.get("team/app", "v1").digest == first


def test_without_its_triggers_the_cache_turns_itself_off(caplog):
    first, second = two_images()
    with connection.schema_editor() as editor:
        read_cache.uninstall(editor)
    try:
        read_cache.reset()
        with caplog.at_level(logging.WARNING, logger="berth.read_cache"):
            assert manifests.get("team/app", "v1").digest == first
        assert "read cache off" in caplog.text
        Tag.objects.filter(name="v1").update(manifest=Manifest.objects.get(digest=second))
        with CaptureQueriesContext(connection) as queries:
            assert manifests.get("team/app", "v1").digest == second
        assert lookups(queries.captured_queries)
    finally:
        with connection.schema_editor() as editor:
            read_cache.install(editor)
        read_cache.reset()
    assert read_cache.installed(connection) == set(read_cache._trigger_names())


def test_after_the_listening_session_is_ended_nothing_cached_before_is_served(other_session):
    if connection.vendor != "postgresql":
        pytest.skip("the LISTEN session is PostgreSQL's")
    first, second = two_images()
    ids = dict(Manifest.objects.values_list("digest", "id"))
    assert manifests.get("team/app", "v1").digest == first
    listener = connection._berth_listener[2]
    epoch = listener.epoch

    other_session(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN berth_reads' "
        "AND datname = current_database()",
        settle=False,
    )
    seen_within(2, lambda: listener.conn is None or listener.epoch != epoch, True)  # the loss noticed
    # a change while nobody listens: its notice is lost, so the cache must not answer from before it
    other_session("UPDATE images_tag SET manifest_id = %s WHERE name = 'v1'", [ids[second]], settle=False)
    assert manifests.get("team/app", "v1").digest == second
    seen_within(5, lambda: listener.epoch != epoch and listener.conn is not None, True)  # listening again
    assert manifests.get("team/app", "v1").digest == second
    other_session("UPDATE images_tag SET manifest_id = %s WHERE name = 'v1'", [ids[first]])
    assert manifests.get("team/app", "v1").digest == first


def test_a_manifest_put_answers_after_settling_and_reads_do_not_wait(client, monkeypatch):
    settled = []
    monkeypatch.setattr(read_cache, "settle", lambda: settled.append(True))
    body = push_image("team/app", "v1")
    assert client.get("/v2/team/app/manifests/v1", HTTP_ACCEPT=OCI_MANIFEST).status_code == 200
    assert client.head("/v2/team/app/manifests/v1", HTTP_ACCEPT=OCI_MANIFEST).status_code == 200
    assert settled == []
    assert client.put("/v2/team/app/manifests/v2", data=body, content_type=OCI_MANIFEST).status_code == 201
    assert settled == [True]
    assert client.delete("/v2/team/app/manifests/v2").status_code == 202
    assert settled == [True, True]


@pytest.mark.auth
def test_a_repository_made_private_elsewhere_is_refused_to_anonymous_pulls_at_once(client, other_session):
    push_image("team/app", "v1")
    path = "/v2/team/app/manifests/v1"
    for _ in range(2):  # the second from the cache: the repository row and the lookup
        assert client.get(path, HTTP_ACCEPT=OCI_MANIFEST).status_code == 200
    other_session("UPDATE images_repository SET is_public = false WHERE name = 'team/app'")
    refused = client.get(path, HTTP_ACCEPT=OCI_MANIFEST)
    assert refused.status_code == 401, refused.content
    assert client.get("/v2/_catalog").json()["repositories"] == []
    other_session("UPDATE images_repository SET is_public = true WHERE name = 'team/app'")
    assert client.get(path, HTTP_ACCEPT=OCI_MANIFEST).status_code == 200


@pytest.fixture
def notices_held():
    """PostgreSQL's notices held back: the listening session's server process stopped (SIGSTOP) for the test,
    as a notice still on its way would be. SQLite has no notices (its count is read at every read)."""
    if connection.vendor != "postgresql":
        yield
        return
    backend = connection._berth_listener[2].conn.info.backend_pid
    os.kill(backend, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(backend, signal.SIGCONT)


def test_this_process_reads_its_own_writes_at_once_without_waiting_for_the_notice(notices_held):
    """A GET through a pull-through cache stores what it fetched and reads it back in the same request,
    before the notice of its own commit may have arrived: its own changes are seen at once, in autocommit
    and from a transaction once it commits; reads between changes are still cached."""
    first, second = two_images()
    ids = dict(Manifest.objects.values_list("digest", "id"))
    repository_id = Tag.objects.get(name="v1").repository_id
    for round_ in range(20):
        with pytest.raises(ManifestUnknown):
            manifests.get("team/app", f"new{round_}")  # the miss, cached
        now = ids[first if round_ % 2 else second]  # v1 moves each round
        assert manifests.get("team/app", "v1").id != now
        with CaptureQueriesContext(connection) as queries:
            assert manifests.get("team/app", "v1").id != now  # a repeated read: cached
        assert lookups(queries.captured_queries) == []
        if round_ % 2:
            with transaction.atomic():
                Tag.objects.create(repository_id=repository_id, name=f"new{round_}", manifest_id=now)
                Tag.objects.filter(name="v1").update(manifest_id=now)
        else:
            Tag.objects.filter(name="v1").update(manifest_id=now)
            Tag.objects.create(repository_id=repository_id, name=f"new{round_}", manifest_id=now)
        assert manifests.get("team/app", f"new{round_}").id == now
        assert manifests.get("team/app", "v1").id == now
