"""Storage quotas: the running usage figure of each namespace and the refusal of a blob that would go over.

Usage counts each blob once per namespace (the distinct blobs linked into its repositories). It is
charged when an upload commits a blob the namespace does not hold yet (`admit_blob`, called by
images/services/blobs.py before the bytes move to their content address) and recounted exactly by
`recount()` at the end of every garbage collection (deleted content gives its space back then).
Between two collections the figure can be higher than the truth (a blob charged whose push then
failed, one deleted and not collected yet), never lower than what the namespace holds.
"""

from django.db import connection, transaction
from django.utils import timezone

from images.errors import Denied
from images.models import Repository, RepositoryBlob, Upload
from policies import sizes
from policies.models import NamespaceUsage
from policies.services import rules
from storage_backends import upload_staging

WARNING_ACTION = "quota"


def usage(namespace):
    return NamespaceUsage.objects.filter(namespace=namespace).values_list("bytes", flat=True).first() or 0


def status(namespace):
    """What the pages, the API and show_policy say about a namespace's storage."""
    quota, warn_percent = rules.quota_of(namespace)
    row = NamespaceUsage.objects.filter(namespace=namespace).first()
    used = row.bytes if row else 0
    if quota is None:
        percent = None
    else:
        percent = round(100 * used / quota, 1) if quota else (100.0 if used else 0.0)
    return {
        "namespace": namespace,
        "used_bytes": used,
        "used": sizes.human(used),
        "quota_bytes": quota,
        "quota": sizes.human(quota) if quota is not None else None,
        "percent": percent,
        "warn_percent": warn_percent,
        "warn_at_bytes": quota * warn_percent // 100 if quota is not None else None,
        "warning": bool(quota is not None and percent >= warn_percent),
        "over_quota": bool(quota is not None and used >= quota),
        "counted_at": row.counted_at.isoformat() if row and row.counted_at else None,
        "note": "Deleted content is given back in this figure once garbage collection has run.",
    }


def _namespace_of(repository_name):
    return repository_name.split("/", 1)[0] if "/" in repository_name else ""


def admit_blob(upload, digest, size):
    """An upload is about to commit `digest`: charge the namespace, or refuse (DENIED) and free the staged bytes.

    One statement when the push is admitted (the hot path): an upsert of the namespace's usage row that adds
    the size only when no repository of the namespace links the blob yet and the quota (copied on the row)
    allows it. The row lock it takes admits concurrent pushes into a namespace one after the other."""
    if upload.repository_name.startswith("_internal/"):
        return
    namespace = _namespace_of(upload.repository_name)
    if _charge(namespace, digest, size):
        return
    used, quota = NamespaceUsage.objects.filter(namespace=namespace).values_list("bytes", "quota_bytes").get()
    Upload.objects.filter(pk=upload.pk).delete()
    upload_staging.discard(upload.uuid)
    raise Denied(
        f"quota exceeded: {sizes.human(used)} of {sizes.human(quota)} used",
        detail={"namespace": namespace, "used": used, "quota": quota, "blob_size": size},
    )


def admit_mount(repository_name, digest, size):
    """A cross-repository mount would link `digest` into the namespace: charge it, or False (the client then
    uploads the blob, and that upload is refused with the quota message)."""
    return _charge(_namespace_of(repository_name), digest, size)


def _charge(namespace, digest, size):
    """True when the namespace holds the blob already or was charged for it; False when over its quota."""
    with connection.cursor() as cursor:
        cursor.execute(_admit_sql(), [namespace, size, timezone.now(), namespace, digest])
        row = cursor.fetchone()
    if row is not None:
        _maybe_warn(namespace, *row)
        return True
    return RepositoryBlob.objects.filter(repository__namespace=namespace, blob__digest=digest).exists()


_ADMIT_SQL = """
INSERT INTO {usage} (namespace, bytes, quota_bytes, warn_percent, warned, updated_at)
SELECT %s, %s, NULL, 80, FALSE, %s WHERE NOT EXISTS (
    SELECT 1 FROM {links} rb JOIN {repos} r ON r.id = rb.repository_id JOIN {blobs} b ON b.id = rb.blob_id
    WHERE r.namespace = %s AND b.digest = %s)
ON CONFLICT (namespace) DO UPDATE SET bytes = {usage}.bytes + EXCLUDED.bytes, updated_at = EXCLUDED.updated_at
WHERE {usage}.quota_bytes IS NULL OR {usage}.bytes + EXCLUDED.bytes <= {usage}.quota_bytes
RETURNING bytes, quota_bytes, warn_percent, warned
"""


def _admit_sql():
    from images.models import Blob

    q = connection.ops.quote_name
    return _ADMIT_SQL.format(
        usage=q(NamespaceUsage._meta.db_table),
        links=q(RepositoryBlob._meta.db_table),
        repos=q(Repository._meta.db_table),
        blobs=q(Blob._meta.db_table),
    )


def _maybe_warn(namespace, used, quota, warn_percent, warned):
    """Once per crossing: a `quota` webhook event (and the pages' warning) when usage reaches the threshold."""
    if quota is None or warned or used * 100 < quota * warn_percent:
        return
    if NamespaceUsage.objects.filter(namespace=namespace, warned=False).update(warned=True):
        from policies.services import events

        events.quota_warning(namespace, used, quota, warn_percent)


def set_limit(namespace, quota, warn_percent):
    """Copy the namespace policy's quota onto its usage row (rules.set_policy / clear_policy)."""
    row, _ = NamespaceUsage.objects.get_or_create(namespace=namespace)
    warned = row.warned and quota is not None and row.bytes * 100 >= quota * warn_percent
    NamespaceUsage.objects.filter(pk=row.pk).update(quota_bytes=quota, warn_percent=warn_percent, warned=warned)


_RECOUNT_SQL = """
SELECT r.namespace, SUM(b.size) FROM (
    SELECT DISTINCT r.namespace AS namespace, rb.blob_id AS blob_id
    FROM {links} rb JOIN {repos} r ON r.id = rb.repository_id
) r JOIN {blobs} b ON b.id = r.blob_id GROUP BY r.namespace
"""


def recount():
    """Exact usage of every namespace (one query); called after garbage collection. Returns {namespace: bytes}."""
    from images.models import Blob

    q = connection.ops.quote_name
    sql = _RECOUNT_SQL.format(
        links=q(RepositoryBlob._meta.db_table), repos=q(Repository._meta.db_table), blobs=q(Blob._meta.db_table)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        totals = {ns: int(total or 0) for ns, total in cursor.fetchall()}
    now, left = timezone.now(), dict(totals)
    with transaction.atomic():
        for row in NamespaceUsage.objects.select_for_update():
            _store(row, left.pop(row.namespace, 0), now)
        for namespace, total in left.items():
            NamespaceUsage.objects.create(namespace=namespace, bytes=total, counted_at=now)
    return totals


def _store(row, total, now):
    quota, warn_percent = row.quota_bytes, row.warn_percent
    warned = row.warned and quota is not None and total * 100 >= quota * warn_percent
    NamespaceUsage.objects.filter(pk=row.pk).update(bytes=total, counted_at=now, warned=warned)
