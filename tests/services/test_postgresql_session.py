"""PostgreSQL sessions: checked without a round trip, hot reads prepared once per session.

These need PostgreSQL (the backend in registry_site/postgresql and the PREPARE path only exist
there); CI runs the suite on PostgreSQL.
"""

import select
import time

import pytest
from django.db import connection

from images.services import manifests, prepared, read_cache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL sessions")


@pytest.fixture(autouse=True)
def every_read_asks_the_database(monkeypatch):
    """These tests are about the lookups' SQL and sessions: no read answered from the read cache."""
    monkeypatch.setattr(read_cache, "ENABLED", False)


@pytest.fixture
def other_session():
    """A second, independent session to look at (or end) the test's own."""
    session = connection.get_new_connection(connection.get_connection_params())
    session.autocommit = True
    yield session.cursor()
    session.close()


def last_query_of(cursor, pid):
    cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
    return cursor.fetchone()[0]


def prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_an_idle_session_is_checked_without_a_query(other_session):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'berth health marker'")
    pid = connection.connection.get_backend_pid()

    assert connection.is_usable()
    assert last_query_of(other_session, pid) == "SELECT 'berth health marker'"  # no SELECT 1 was sent


def test_a_session_ended_by_the_server_is_replaced_before_the_next_read(registry, other_session):
    registry.push_image("team/app", "v1")
    pushed = manifests.get("team/app", "v1").digest
    pid = connection.connection.get_backend_pid()

    other_session.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while not select.select([connection.connection.fileno()], [], [], 0.05)[0] and time.monotonic() < deadline:
        pass
    assert not connection.is_usable()

    connection.close_if_unusable_or_obsolete()  # what Django does between requests
    assert manifests.get("team/app", "v1").digest == pushed  # re-prepared on the new session
    assert connection.connection.get_backend_pid() != pid


def test_hot_reads_are_prepared_once_per_session(registry):
    registry.push_image("team/app", "v1")
    registry.push_image("team/app", "v2", layers=(b"other layer",))
    before = prepared_statements()

    first = manifests.get("team/app", "v1")
    second = manifests.get("team/app", "v2")
    added = [s for s in prepared_statements() if s not in before]

    assert first.digest != second.digest
    assert len(added) == 1
    assert '"images_tag"."name" = $1' in added[0]


def test_without_server_prepare_the_plain_sql_runs(registry, monkeypatch):
    monkeypatch.setattr(prepared, "SERVER_PREPARE", False)
    registry.push_image("team/app", "v1")
    connection.close()  # a fresh session: nothing prepared on it yet

    assert manifests.get("team/app", "v1").digest
    assert prepared_statements() == []


def test_a_session_that_lost_its_prepared_statements_still_answers(registry):
    registry.push_image("team/app", "v1")
    pushed = manifests.get("team/app", "v1").digest
    assert prepared_statements()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what this process prepared on the session is gone

    assert manifests.get("team/app", "v1").digest == pushed  # the plain SQL, not a 503
    assert manifests.get("team/app", "v1").digest == pushed  # and prepared again for the next read
    assert prepared_statements()
