"""PostgreSQL: the database steps of a blob upload, each as one statement.

A blob PUT used to cost 13 round trips; it is two statements now (claim, then
the rows), each atomic on its own, so neither needs BEGIN/COMMIT. The locking
is the same as on the ORM path (images/services/upload_store.py, which chooses
between the two once; gc.py describes the protocol). A PATCH reads its session
and moves its offset with one statement each. The Blob upsert (BLOB_UPSERT) is
the one every path that writes a Blob row uses (blobs.locked_row too).
"""

import functools
import re
import uuid as uuidlib

from django.db import connections, router
from django.utils import timezone

from images import references
from images.errors import BlobUploadUnknown
from images.models import Blob, BlobDeletion, Repository, RepositoryBlob, Upload
from images.services import prepared, repositories


def _connection():
    return connections[router.db_for_write(Blob)]


def _tables(connection):
    models = (Upload, Blob, BlobDeletion, Repository, RepositoryBlob)
    return {model.__name__: connection.ops.quote_name(model._meta.db_table) for model in models}


def _statement(connection, sql, params):
    """One of the statements below with its values, prepared on the server once per session (prepared.py)."""
    text, names = _positional(connection.alias, sql)
    return prepared.server_statement(connection, text, len(names)) or text, [params[name] for name in names]


@functools.cache
def _positional(alias, sql):
    """The statement with its table names filled in and `%(name)s` made positional, and the names in order."""
    names = []

    def positional(match):
        names.append(match.group(1))
        return "%s"

    return _NAMED.sub(positional, sql.format(**_tables(connections[alias]))), tuple(names)


def _raw(model, sql, params):
    connection = _connection()
    statement, values = _statement(connection, sql, params)
    return list(model.objects.raw(statement, values).using(connection.alias))


def _execute(sql, params):
    """Rows of a SELECT, or the row count of an UPDATE (a plain cursor: cheaper than a raw queryset)."""
    connection = _connection()
    statement, values = _statement(connection, sql, params)
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        return cursor.fetchall() if cursor.description else cursor.rowcount


_NAMED = re.compile(r"%\((\w+)\)s")


# Every PATCH reads its session and moves its offset; the timestamps are not read on the way (they load
# on access) because a plain cursor returns them without Django's converters.
_SESSION_FIELDS = ("id", "uuid", "repository_name", "offset", "digest", "staged_digest")
_FIND_SQL = """
SELECT id, uuid, repository_name, "offset", digest, staged_digest FROM {Upload}
WHERE uuid = %(uuid)s AND repository_name = %(repository)s
"""


def find(repository_name, uid):
    """The session `uid` of the repository, or None."""
    rows = _execute(_FIND_SQL, {"uuid": uid, "repository": repository_name})
    return Upload.from_db(_connection().alias, _SESSION_FIELDS, rows[0]) if rows else None


# The Blob row, created if missing, locked against the collector: the no-op update (the digest set to
# itself) takes the row lock the collector's SELECT ... FOR UPDATE waits on.
BLOB_UPSERT = (
    "INSERT INTO {Blob} (digest, size, media_type, created_at) {values} "
    "ON CONFLICT (digest) DO UPDATE SET digest = EXCLUDED.digest RETURNING id, digest, size, media_type, created_at"
)


_ADVANCE_SQL = """
UPDATE {Upload} SET "offset" = %(new)s, staged_digest = %(staged)s, updated_at = %(now)s
WHERE id = %(id)s AND "offset" = %(old)s
"""


def advance(upload, new_offset, staged_digest):
    """Move the offset on if nobody else did (1), else 0; the session counts as touched."""
    params = {"id": upload.pk, "old": upload.offset, "new": new_offset, "staged": staged_digest, "now": timezone.now()}
    return _execute(_ADVANCE_SQL, params)


def claim(repository_name, upload_id, digest):
    """blobs.announce() for a session whose staged bytes were recorded with this digest, found and
    claimed in one statement (intent set, pending byte deletion cancelled; the repository's id looked
    up on the way). None when no session matches: the caller takes the general path, which says why."""
    try:
        uid = uuidlib.UUID(str(upload_id))
    except ValueError:
        return None
    params = {"uuid": uid, "repository": repository_name, "digest": digest, "now": timezone.now()}
    rows = _raw(Upload, _CLAIM_SQL, params)
    return rows[0] if rows else None


# The tombstone goes in the statement that records the intent: the collector holds the tombstone
# locked while it checks for an intent, so either it finishes first (and the DELETE waits for it)
# or it finds no tombstone at all.
_CLAIM_SQL = """
WITH claimed AS (
    UPDATE {Upload} SET digest = %(digest)s, updated_at = %(now)s
    WHERE uuid = %(uuid)s AND repository_name = %(repository)s AND staged_digest = %(digest)s
    RETURNING *
),
tombstone AS (DELETE FROM {BlobDeletion} WHERE digest = %(digest)s AND EXISTS (SELECT 1 FROM claimed))
SELECT claimed.*, (SELECT id FROM {Repository} WHERE name = %(repository)s) AS known_repository_id FROM claimed
"""


def commit_rows(upload, digest, size):
    """The rows of blobs.commit_blob: session deleted, Blob row upserted and locked
    (as blobs.locked_row), repository link, and on a first push the repository itself; no rows at
    all (not even the repository) when the session is gone."""
    repository_id = getattr(upload, "known_repository_id", None)  # from claim()
    params = {"upload": upload.pk, "digest": digest, "size": size, "now": timezone.now()}
    if repository_id is None:  # a first push creates the repository, in the same statement
        name = upload.repository_name
        params.update(name=name, namespace=references.namespace_of(name), public=repositories.new_public())
        sql = _COMMIT_ROWS_NEW_REPOSITORY_SQL
    else:
        params["repository"] = repository_id
        sql = _COMMIT_ROWS_KNOWN_REPOSITORY_SQL
    rows = _raw(Blob, sql, params)
    if not rows:  # purged while committing: without our intent the bytes were not protected
        raise BlobUploadUnknown("upload expired while committing, retry", detail={"uuid": str(upload.uuid)})
    return rows[0]


_KNOWN_REPOSITORY = "repository AS (SELECT %(repository)s::bigint AS id)"
# ON CONFLICT DO UPDATE (not NOTHING) so that a repository a concurrent first push created still
# returns its id; it touches that row only on this path.
_NEW_REPOSITORY = """repository AS (
    INSERT INTO {Repository} (name, namespace, description, is_public, created_at)
    SELECT %(name)s::varchar, %(namespace)s::varchar, '', %(public)s::boolean, %(now)s::timestamptz FROM gone
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id
)"""
_COMMIT_ROWS_SQL = """
WITH gone AS (DELETE FROM {Upload} WHERE id = %(upload)s RETURNING id),
{repository},
blob AS ({blob_upsert}),
link AS (
    INSERT INTO {RepositoryBlob} (repository_id, blob_id, created_at)
    SELECT repository.id, blob.id, %(now)s::timestamptz FROM blob, repository
    ON CONFLICT DO NOTHING
)
SELECT id, digest, size, media_type, created_at FROM blob
"""
_COMMIT_ROWS_SQL = _COMMIT_ROWS_SQL.replace(
    "{blob_upsert}",
    BLOB_UPSERT.replace("{values}", "SELECT %(digest)s::varchar, %(size)s::bigint, '', %(now)s::timestamptz FROM gone"),
)
_COMMIT_ROWS_KNOWN_REPOSITORY_SQL = _COMMIT_ROWS_SQL.replace("{repository}", _KNOWN_REPOSITORY)
_COMMIT_ROWS_NEW_REPOSITORY_SQL = _COMMIT_ROWS_SQL.replace("{repository}", _NEW_REPOSITORY)
