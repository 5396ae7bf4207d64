"""Counts and totals the catalog shows, kept exact by the database itself.

Triggers (installed by images/migrations/0008_scale_counters.py, on PostgreSQL and SQLite) add and
subtract in the statement that inserts or deletes a tag, a blob link, a blob or a manifest, whatever
code path does it (pushes, deletes, the collector, bulk inserts, the proxy cache): the change and the
count commit together.

Locks. A repository's own figures (`tag_count`, `total_size`) are updated on its row, which a push
or a collection of that repository holds anyway (images/services/gc.py, "The protocol"). The store's
totals are never updated in place: each change appends a row of differences to `images_storagecounter`
(an insert takes no lock another writer waits for), and the totals are the sums of those rows. A
shared counter row updated by every transaction would order its lock after each writer's other row
locks, and two pushes (or a push and a collection) taking them in opposite orders deadlock.
`fold()` replaces the rows by their sum now and then; `recount()` rebuilds every figure from the rows
(each garbage collection runs it; so does `manage.py berth_recount`).
"""

from django.db import connection, transaction
from django.utils import timezone

FOLD_AT = 1000  # rows of differences that totals() folds into one
FOLD_BATCH = 10_000

# (trigger name, table, event, condition, statement with NEW/OLD) — the same text on both databases.
_REPO = "images_repository"
_TOTALS = "images_storagecounter"
_COLUMNS = "blobs, blob_bytes, manifests, manifest_bytes, tags, linked_bytes"
_BLOB_SIZE = "COALESCE((SELECT size FROM images_blob WHERE id = {row}.blob_id), 0)"


def _add(blobs="0", blob_bytes="0", manifests="0", manifest_bytes="0", tags="0", linked_bytes="0"):
    """The statement that appends one row of differences to the store's totals."""
    values = ", ".join((blobs, blob_bytes, manifests, manifest_bytes, tags, linked_bytes))
    return f"INSERT INTO {_TOTALS} ({_COLUMNS}) VALUES ({values})"


_REPO_TAGS = "UPDATE " + _REPO + " SET tag_count = tag_count {sign} 1 WHERE id = {row}.repository_id"
_REPO_SIZE = "UPDATE " + _REPO + " SET total_size = total_size {sign} {size} WHERE id = {row}.repository_id"
_NEW_LINK, _OLD_LINK = _BLOB_SIZE.format(row="NEW"), _BLOB_SIZE.format(row="OLD")
TRIGGERS = [
    ("berth_tag_ins", "images_tag", "INSERT", "", f"{_REPO_TAGS.format(sign='+', row='NEW')}; {_add(tags='1')}"),
    ("berth_tag_del", "images_tag", "DELETE", "", f"{_REPO_TAGS.format(sign='-', row='OLD')}; {_add(tags='-1')}"),
    (
        "berth_tag_move",
        "images_tag",
        "UPDATE",
        "OLD.repository_id <> NEW.repository_id",
        f"UPDATE {_REPO} SET tag_count = tag_count + (CASE WHEN id = NEW.repository_id THEN 1 ELSE -1 END) "
        "WHERE id IN (OLD.repository_id, NEW.repository_id)",
    ),
    (
        "berth_link_ins",
        "images_repositoryblob",
        "INSERT",
        "",
        f"{_REPO_SIZE.format(sign='+', size=_NEW_LINK, row='NEW')}; {_add(linked_bytes=_NEW_LINK)}",
    ),
    (
        "berth_link_del",
        "images_repositoryblob",
        "DELETE",
        "",
        f"{_REPO_SIZE.format(sign='-', size=_OLD_LINK, row='OLD')}; {_add(linked_bytes='-' + _OLD_LINK)}",
    ),
    ("berth_blob_ins", "images_blob", "INSERT", "", _add(blobs="1", blob_bytes="NEW.size")),
    ("berth_blob_del", "images_blob", "DELETE", "", _add(blobs="-1", blob_bytes="-OLD.size")),
    ("berth_manifest_ins", "images_manifest", "INSERT", "", _add(manifests="1", manifest_bytes="NEW.size")),
    ("berth_manifest_del", "images_manifest", "DELETE", "", _add(manifests="-1", manifest_bytes="-OLD.size")),
]


_NS = "images_namespacecount"
_PUBLIC = "(CASE WHEN {row}.is_public THEN 1 ELSE 0 END)"
_NS_ADD = (
    f"INSERT INTO {_NS} (namespace, repositories, public_repositories) "
    f"VALUES (NEW.namespace, 1, {_PUBLIC.format(row='NEW')}) ON CONFLICT (namespace) DO UPDATE SET "
    f"repositories = {_NS}.repositories + 1, public_repositories = {_NS}.public_repositories + "
    f"{_PUBLIC.format(row='NEW')}"
)
_NS_SUB = (
    f"UPDATE {_NS} SET repositories = repositories - 1, "
    f"public_repositories = public_repositories - {_PUBLIC.format(row='OLD')} WHERE namespace = OLD.namespace"
)
TRIGGERS += [
    ("berth_repo_ins", _REPO, "INSERT", "", _NS_ADD),
    ("berth_repo_del", _REPO, "DELETE", "", _NS_SUB),
    (
        "berth_repo_change",
        _REPO,
        "UPDATE",
        "OLD.namespace <> NEW.namespace OR OLD.is_public <> NEW.is_public",
        f"{_NS_SUB}; {_NS_ADD}",
    ),
]


def _create_sql(vendor, name, table, event, condition, statement):
    when = f" WHEN ({condition})" if condition else ""
    if vendor == "sqlite":
        return [f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} BEGIN {statement}; END"]
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {statement}; RETURN NULL; END $$",
        f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} EXECUTE FUNCTION {name}()",
    ]


def _drop_sql(vendor, name, table):
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}"]
    return [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]


def install(schema_editor, only=None):
    """(Re)create the triggers (`only`: those whose names start so). On SQLite a migration that rebuilds
    one of these tables drops its triggers: such a migration must call this again at its end."""
    vendor = schema_editor.connection.vendor
    for name, table, event, condition, statement in TRIGGERS:
        if only and not name.startswith(only):
            continue
        for sql in _drop_sql(vendor, name, table) + _create_sql(vendor, name, table, event, condition, statement):
            schema_editor.execute(sql, None)


def uninstall(schema_editor):
    vendor = schema_editor.connection.vendor
    for name, table, *_ in TRIGGERS:
        for sql in _drop_sql(vendor, name, table):
            schema_editor.execute(sql, None)


_TAGS_OF = f"(SELECT COUNT(*) FROM images_tag t WHERE t.repository_id = {_REPO}.id)"
_SIZE_OF = (
    "COALESCE((SELECT SUM(b.size) FROM images_repositoryblob l JOIN images_blob b ON b.id = l.blob_id "
    f"WHERE l.repository_id = {_REPO}.id), 0)"
)
# Only the repositories whose figures drifted are locked and rewritten: every row locked would make the
# pushes of the whole registry wait for the recount.
_DRIFTED = f"SELECT id FROM {_REPO} WHERE tag_count <> {_TAGS_OF} OR total_size <> {_SIZE_OF} ORDER BY id"
FILL_REPOSITORIES = f"UPDATE {_REPO} SET tag_count = {_TAGS_OF}, total_size = {_SIZE_OF}"  # migration 0008
_RECOUNT_REPOSITORIES = FILL_REPOSITORIES + " WHERE id IN ({ids})"
_RECOUNT_NAMESPACES = [
    f"DELETE FROM {_NS}",
    f"INSERT INTO {_NS} (namespace, repositories, public_repositories) "
    f"SELECT namespace, COUNT(*), SUM({_PUBLIC.format(row=_REPO)}) FROM {_REPO} GROUP BY namespace",
]
_COUNT_TOTALS = """
SELECT (SELECT COUNT(*) FROM images_blob), (SELECT COALESCE(SUM(size), 0) FROM images_blob),
  (SELECT COUNT(*) FROM images_manifest), (SELECT COALESCE(SUM(size), 0) FROM images_manifest),
  (SELECT COUNT(*) FROM images_tag),
  (SELECT COALESCE(SUM(b.size), 0) FROM images_repositoryblob l JOIN images_blob b ON b.id = l.blob_id)
"""
# Replace the rows of differences by the counts, as of one moment: on PostgreSQL one statement (its
# deleted rows and its counts see the same snapshot; a push committing meanwhile keeps its own row);
# SQLite's single writer holds the database from the DELETE on. Chosen once, by the database's vendor.
_RECOUNT_TOTALS = {
    "postgresql": [f"WITH gone AS (DELETE FROM {_TOTALS}) INSERT INTO {_TOTALS} ({_COLUMNS}) {_COUNT_TOTALS}"],
    "sqlite": [f"DELETE FROM {_TOTALS}", f"INSERT INTO {_TOTALS} ({_COLUMNS}) {_COUNT_TOTALS}"],
}
# Only one fold or recount at a time (a fold's new row must not be counted again by a recount).
_EXCLUSIVE = {"postgresql": ["SELECT pg_advisory_xact_lock(7250301)"], "sqlite": []}
# A drifted repository's row is locked (in id order; every other writer holds one repository at a time)
# before it is recounted in a new statement, so a push in flight adds its tag after the recount rather
# than being overwritten by it.
_LOCK_REPOSITORIES = {
    "postgresql": f"SELECT COUNT(*) FROM (SELECT id FROM {_REPO} WHERE id IN ({{ids}}) ORDER BY id FOR UPDATE) locked",
    "sqlite": "",
}


def _run(cursor, statements):
    for sql in statements:
        cursor.execute(sql)


def recount():
    """Rebuild every kept figure from the rows, and take a new storage snapshot (a pass over each table)."""
    vendor = connection.vendor
    with transaction.atomic(), connection.cursor() as cursor:
        _run(cursor, _EXCLUSIVE[vendor])
        _run(cursor, _RECOUNT_TOTALS[vendor])
        _recount_repositories(cursor, vendor)
        _run(cursor, _RECOUNT_NAMESPACES)
        snapshot()


def _recount_repositories(cursor, vendor):
    cursor.execute(_DRIFTED)
    drifted = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(drifted), 1000):
        ids = ", ".join(str(int(i)) for i in drifted[start : start + 1000])
        for sql in (_LOCK_REPOSITORIES[vendor], _RECOUNT_REPOSITORIES):
            if sql:
                cursor.execute(sql.format(ids=ids))


def fold():
    """Replace the rows of differences by their sum (at most FOLD_BATCH rows per pass; the sums stay)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _run(cursor, _EXCLUSIVE[connection.vendor])
        cursor.execute(
            f"DELETE FROM {_TOTALS} WHERE id IN (SELECT id FROM {_TOTALS} ORDER BY id LIMIT {FOLD_BATCH}) "
            f"RETURNING {_COLUMNS}"
        )
        rows = cursor.fetchall()
        if rows:
            sums = ", ".join(str(sum(column)) for column in zip(*rows, strict=True))
            cursor.execute(f"INSERT INTO {_TOTALS} ({_COLUMNS}) VALUES ({sums})")
    return len(rows)


def snapshot():
    """Store the figures that need a pass over every blob (referenced, awaiting collection, logical bytes)."""
    from django.db.models import Count, Exists, OuterRef, Sum
    from django.db.models.functions import Coalesce

    from images.models import Blob, RepositoryBlob, RepositoryManifest, StorageSnapshot, V1Image

    linked = Exists(RepositoryBlob.objects.filter(blob=OuterRef("pk")))
    v1_used = Exists(V1Image.objects.filter(layer=OuterRef("pk")))
    totals = {"count": Count("pk"), "bytes": Coalesce(Sum("size"), 0)}
    referenced = Blob.objects.filter(linked).aggregate(**totals)
    orphaned = Blob.objects.exclude(linked).exclude(v1_used).aggregate(**totals)
    logical = RepositoryManifest.objects.aggregate(bytes=Coalesce(Sum("manifest__layers__size"), 0))["bytes"]
    StorageSnapshot.objects.update_or_create(
        pk=1,
        defaults={
            "referenced_blobs": referenced["count"],
            "referenced_bytes": referenced["bytes"],
            "orphaned_blobs": orphaned["count"],
            "orphaned_bytes": orphaned["bytes"],
            "logical_bytes": logical,
            "computed_at": timezone.now(),
        },
    )


def totals():
    """{"blobs", "blob_bytes", "manifests", "manifest_bytes", "tags", "linked_bytes"}: the sums of the rows of
    differences (folded first when they have grown past FOLD_AT)."""
    fields = _COLUMNS.split(", ")
    with connection.cursor() as cursor:
        sums = ", ".join(f"COALESCE(SUM({f}), 0)" for f in fields)
        cursor.execute(f"SELECT COUNT(*), {sums} FROM {_TOTALS}")
        count, *values = cursor.fetchone()
    if count > FOLD_AT:
        fold()
    return dict(zip(fields, values, strict=True))
