"""Counts and totals the catalog shows, kept exact by the database itself.

Triggers (installed by images/migrations/0008_scale_counters.py, on PostgreSQL and SQLite) add and
subtract in the statement that inserts or deletes a tag, a blob link, a blob or a manifest, whatever
code path does it (pushes, deletes, the collector, bulk inserts, the proxy cache): the change and the
count commit together, and `SET n = n + 1` on a row is race-free under concurrent pushes.
`recount()` rebuilds every figure from the rows (each garbage collection runs it; so does
`manage.py berth_recount`).
"""

from django.db import connection, transaction
from django.utils import timezone

SLOTS = 16

# (trigger name, table, event, condition, statement with NEW/OLD) — the same text on both databases.
_REPO = "images_repository"
_SLOT = "images_storagecounter"
_BLOB_SIZE = "(SELECT size FROM images_blob WHERE id = {row}.blob_id)"
TRIGGERS = [
    (
        "berth_tag_ins",
        "images_tag",
        "INSERT",
        "",
        f"UPDATE {_REPO} SET tag_count = tag_count + 1 WHERE id = NEW.repository_id; "
        f"UPDATE {_SLOT} SET tags = tags + 1 WHERE slot = NEW.id % {SLOTS}",
    ),
    (
        "berth_tag_del",
        "images_tag",
        "DELETE",
        "",
        f"UPDATE {_REPO} SET tag_count = tag_count - 1 WHERE id = OLD.repository_id; "
        f"UPDATE {_SLOT} SET tags = tags - 1 WHERE slot = OLD.id % {SLOTS}",
    ),
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
        f"UPDATE {_REPO} SET total_size = total_size + {_BLOB_SIZE.format(row='NEW')} WHERE id = NEW.repository_id; "
        f"UPDATE {_SLOT} SET linked_bytes = linked_bytes + {_BLOB_SIZE.format(row='NEW')} "
        f"WHERE slot = NEW.id % {SLOTS}",
    ),
    (
        "berth_link_del",
        "images_repositoryblob",
        "DELETE",
        "",
        f"UPDATE {_REPO} SET total_size = total_size - {_BLOB_SIZE.format(row='OLD')} WHERE id = OLD.repository_id; "
        f"UPDATE {_SLOT} SET linked_bytes = linked_bytes - {_BLOB_SIZE.format(row='OLD')} "
        f"WHERE slot = OLD.id % {SLOTS}",
    ),
    (
        "berth_blob_ins",
        "images_blob",
        "INSERT",
        "",
        f"UPDATE {_SLOT} SET blobs = blobs + 1, blob_bytes = blob_bytes + NEW.size WHERE slot = NEW.id % {SLOTS}",
    ),
    (
        "berth_blob_del",
        "images_blob",
        "DELETE",
        "",
        f"UPDATE {_SLOT} SET blobs = blobs - 1, blob_bytes = blob_bytes - OLD.size WHERE slot = OLD.id % {SLOTS}",
    ),
    (
        "berth_manifest_ins",
        "images_manifest",
        "INSERT",
        "",
        f"UPDATE {_SLOT} SET manifests = manifests + 1, manifest_bytes = manifest_bytes + NEW.size "
        f""
        f"WHERE slot = NEW.id % {SLOTS}",
    ),
    (
        "berth_manifest_del",
        "images_manifest",
        "DELETE",
        "",
        f"UPDATE {_SLOT} SET manifests = manifests - 1, manifest_bytes = manifest_bytes - OLD.size "
        f""
        f"WHERE slot = OLD.id % {SLOTS}",
    ),
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


_RECOUNT_REPOSITORIES = f"""
UPDATE {_REPO} SET
  tag_count = (SELECT COUNT(*) FROM images_tag t WHERE t.repository_id = {_REPO}.id),
  total_size = COALESCE((SELECT SUM(b.size) FROM images_repositoryblob l JOIN images_blob b ON b.id = l.blob_id
                         WHERE l.repository_id = {_REPO}.id), 0)
"""
_RECOUNT_NAMESPACES = [
    f"DELETE FROM {_NS}",
    f"INSERT INTO {_NS} (namespace, repositories, public_repositories) "
    f"SELECT namespace, COUNT(*), SUM({_PUBLIC.format(row=_REPO)}) FROM {_REPO} GROUP BY namespace",
]
_RECOUNT_SLOTS = f"""
UPDATE {_SLOT} SET
  blobs = (SELECT COUNT(*) FROM images_blob WHERE id % {SLOTS} = {_SLOT}.slot),
  blob_bytes = COALESCE((SELECT SUM(size) FROM images_blob WHERE id % {SLOTS} = {_SLOT}.slot), 0),
  manifests = (SELECT COUNT(*) FROM images_manifest WHERE id % {SLOTS} = {_SLOT}.slot),
  manifest_bytes = COALESCE((SELECT SUM(size) FROM images_manifest WHERE id % {SLOTS} = {_SLOT}.slot), 0),
  tags = (SELECT COUNT(*) FROM images_tag WHERE id % {SLOTS} = {_SLOT}.slot),
  linked_bytes = COALESCE((SELECT SUM(b.size) FROM images_repositoryblob l JOIN images_blob b ON b.id = l.blob_id
                           WHERE l.id % {SLOTS} = {_SLOT}.slot), 0)
"""


def recount():
    """Rebuild every kept figure from the rows, and take a new storage snapshot (a pass over each table).

    Runs in one transaction; the counter rows are locked first, so pushes that commit meanwhile wait
    for it rather than adding to a figure that is being replaced."""
    from images.models import StorageCounter

    with transaction.atomic():
        StorageCounter.objects.bulk_create([StorageCounter(slot=i) for i in range(SLOTS)], ignore_conflicts=True)
        list(StorageCounter.objects.select_for_update().order_by("slot"))
        with connection.cursor() as cursor:
            cursor.execute(_RECOUNT_SLOTS)
            cursor.execute(_RECOUNT_REPOSITORIES)
            for sql in _RECOUNT_NAMESPACES:
                cursor.execute(sql)
        snapshot()


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
    """{"blobs", "blob_bytes", "manifests", "manifest_bytes", "tags", "linked_bytes"}: sums over the 16 rows."""
    from django.db.models import Sum
    from django.db.models.functions import Coalesce

    from images.models import StorageCounter

    fields = ("blobs", "blob_bytes", "manifests", "manifest_bytes", "tags", "linked_bytes")
    return StorageCounter.objects.aggregate(**{f: Coalesce(Sum(f), 0) for f in fields})
