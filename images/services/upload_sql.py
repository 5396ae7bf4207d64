"""The SQL of the rows a push writes, one text per database; images/services/upload_store.py runs it.

Each step is a tuple of statements. PostgreSQL does every step in one statement (its CTEs may write),
so a blob PUT costs two round trips (claim, then the rows) and no BEGIN/COMMIT. SQLite cannot write
in a CTE, so a step there is a few statements that the store runs in one transaction: the first may
be a guard (a write with RETURNING; when it returns nothing the step ends with no rows), the last
gives the step's result. The Python that runs them is the same on both (upload_store.Store).

The fragments below are the one Repository upsert (a first push, a mirror's first fetch, a manifest
push, a mount: every repository is created by it) and the one Blob upsert (every Blob row is written
by it). Both lock the row they return (the no-op update takes the row lock, and waits while the
collector holds it; images/services/gc.py). Statements name tables as {Model}; the store fills them in.
"""

REPOSITORY_UPSERT = (
    "INSERT INTO {Repository} (name, namespace, description, is_public, created_at) {values} "
    "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING *"
)
BLOB_UPSERT = (
    "INSERT INTO {Blob} (digest, size, media_type, created_at) {values} "
    "ON CONFLICT (digest) DO UPDATE SET digest = EXCLUDED.digest RETURNING id, digest, size, media_type, created_at"
)


def _repository(values):
    return REPOSITORY_UPSERT.replace("{values}", values)


def _blob(values):
    return BLOB_UPSERT.replace("{values}", values)


_REPOSITORY_VALUES = "VALUES (%(name)s, %(namespace)s, %(description)s, %(public)s, %(now)s)"
_BLOB_VALUES = "VALUES (%(digest)s, %(size)s, '', %(now)s)"

# Every PATCH reads its session and moves its offset (the same text on every database). The caller knows
# the uuid (no conversion of it needed); the timestamps load on access.
SESSION_FIELDS = ("id", "uuid", "repository_name", "offset", "digest", "staged_digest")
_FIND = """
SELECT id, repository_name, "offset", digest, staged_digest FROM {Upload}
WHERE uuid = %(uuid)s AND repository_name = %(repository)s
"""
_ADVANCE = """
UPDATE {Upload} SET "offset" = %(new)s, staged_digest = %(staged)s, updated_at = %(now)s
WHERE id = %(id)s AND "offset" = %(old)s
"""

# The claim: the session carries the digest (the intent) and the digest's tombstone goes. `staged`, when
# given, must be the digest the session's last chunk recorded. The collector holds the tombstone locked
# while it checks for an intent, so either it finishes first (and the DELETE waits for it) or it finds
# no tombstone at all.
_CLAIMED = """
UPDATE {Upload} SET digest = %(digest)s, updated_at = %(now)s
WHERE uuid = %(uuid)s AND repository_name = %(repository)s AND staged_digest = COALESCE(%(staged)s, staged_digest)
"""
_KNOWN_REPOSITORY = "(SELECT id FROM {Repository} WHERE name = %(repository)s) AS known_repository_id"
_CLAIM_POSTGRESQL = f"""
WITH claimed AS ({_CLAIMED} RETURNING *),
tombstone AS (DELETE FROM {{BlobDeletion}} WHERE digest = %(digest)s AND EXISTS (SELECT 1 FROM claimed))
SELECT claimed.*, {_KNOWN_REPOSITORY} FROM claimed
"""
_CLAIM_SQLITE = (
    _CLAIMED + " RETURNING id",
    "DELETE FROM {BlobDeletion} WHERE digest = %(digest)s",
    f"SELECT *, {_KNOWN_REPOSITORY} FROM {{Upload}} WHERE uuid = %(uuid)s",
)

# The commit's rows: the session row deleted (no rows at all when it is gone: purged meanwhile, so
# the bytes were not protected), the Blob row upserted, for a v2 blob the repository (created on a
# first push) linked.
_SESSION_GONE = "DELETE FROM {Upload} WHERE id = %(upload)s RETURNING id"
_BLOB_ROW = "SELECT id, digest, size, media_type, created_at FROM {table}"

# PostgreSQL: one statement a step. A SELECT list has no target column to infer its parameters' types
# from (the statements are prepared on the server), hence the casts.
_AFTER_GONE = {
    "repository": "SELECT %(name)s::varchar, %(namespace)s::varchar, %(description)s::text, %(public)s::boolean, "
    "%(now)s::timestamptz FROM gone",
    "blob": "SELECT %(digest)s::varchar, %(size)s::bigint, '', %(now)s::timestamptz FROM gone",
}
_PG_LINK = """link AS (
    INSERT INTO {RepositoryBlob} (repository_id, blob_id, created_at)
    SELECT repository.id, blob.id, %(now)s::timestamptz FROM blob, repository
    ON CONFLICT DO NOTHING
)"""


def _pg_with(*parts):
    return "WITH " + ",\n".join(parts) + "\n" + _BLOB_ROW.format(table="blob")


_PG_GONE = f"gone AS ({_SESSION_GONE})"
_PG_BLOB_AFTER_GONE = f"blob AS ({_blob(_AFTER_GONE['blob'])})"

POSTGRESQL = {
    "find": (_FIND,),
    "advance": (_ADVANCE,),
    "claim": (_CLAIM_POSTGRESQL,),
    "repository": (_repository(_REPOSITORY_VALUES),),
    "link": (
        _pg_with(f"repository AS ({_repository(_REPOSITORY_VALUES)})", f"blob AS ({_blob(_BLOB_VALUES)})", _PG_LINK),
    ),
    "commit_blob_new_repository": (
        _pg_with(_PG_GONE, f"repository AS ({_repository(_AFTER_GONE['repository'])})", _PG_BLOB_AFTER_GONE, _PG_LINK),
    ),
    "commit_blob": (
        _pg_with(_PG_GONE, "repository AS (SELECT %(repository)s::bigint AS id)", _PG_BLOB_AFTER_GONE, _PG_LINK),
    ),
    "commit_layer": (_pg_with(_PG_GONE, _PG_BLOB_AFTER_GONE),),
}

# SQLite: the same steps as a few statements each, run in one transaction.
_SQLITE_LINK = (
    "INSERT INTO {RepositoryBlob} (repository_id, blob_id, created_at) "
    "SELECT repository.id, blob.id, %(now)s FROM {Repository} AS repository, {Blob} AS blob "
    "WHERE repository.name = %(name)s AND blob.digest = %(digest)s ON CONFLICT DO NOTHING"
)
_SQLITE_LINKED = (_blob(_BLOB_VALUES), _SQLITE_LINK, _BLOB_ROW.format(table="{Blob}") + " WHERE digest = %(digest)s")

SQLITE = {
    "find": (_FIND,),
    "advance": (_ADVANCE,),
    "claim": _CLAIM_SQLITE,
    "repository": (_repository(_REPOSITORY_VALUES),),
    "link": (_repository(_REPOSITORY_VALUES), *_SQLITE_LINKED),
    "commit_blob_new_repository": (_SESSION_GONE, _repository(_REPOSITORY_VALUES), *_SQLITE_LINKED),
    "commit_blob": (_SESSION_GONE, *_SQLITE_LINKED),
    "commit_layer": (_SESSION_GONE, _blob(_BLOB_VALUES)),
}


def for_vendor(vendor):
    """The statements of this database (PostgreSQL's, else SQLite's: the two Berth runs on)."""
    return POSTGRESQL if vendor == "postgresql" else SQLITE
