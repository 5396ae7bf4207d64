"""The rows a push writes, behind one interface; the SQL text is chosen once per process.

Every database runs this same code; only the statements differ (images/services/upload_sql.py:
one per step on PostgreSQL, a few in one transaction on SQLite). They keep the collector's protocol
(gc.py): the intent is recorded and the tombstone removed before the bytes move (`claim`), and the
Blob row is locked where the session row is deleted (`commit_*`).

    find(repository, uid)                  the session, or None
    advance(upload, offset, staged)        move the offset on if nobody else did: 1, else 0
    claim(repository, uid, digest, staged) the session, now carrying the digest (the intent), its
                                           tombstone gone; `staged` (if given) must be the digest its
                                           last chunk recorded. None when no session matches
    commit_blob(upload, digest, size)      a v2 blob: session deleted, Blob row upserted and locked,
                                           repository (created on a first push) linked; None and no
                                           rows at all when the session is gone
    commit_layer(upload, digest, size)     a v1 blob: the same without a repository
    link(repository, digest, size)         the Blob row upserted and locked, linked to the repository
    repository(name, public, description)  the repository row, created if missing, locked
"""

import functools
import re
from contextlib import nullcontext

from django.db import connections, router, transaction
from django.utils import timezone

from images import references
from images.conf import registry_setting
from images.models import Blob, BlobDeletion, Repository, RepositoryBlob, Upload
from images.services import prepared, upload_sql

_chosen = None
_NAMED = re.compile(r"%\((\w+)\)s")


class Store:
    def __init__(self, alias, statements):
        self.alias, self.statements = alias, statements

    def find(self, repository_name, uid):
        rows = self._run("find", {"uuid": self._uuid(uid), "repository": repository_name})
        if not rows:
            return None
        pk, *rest = rows[0]  # the fields in the model's order (from_db wants them so)
        return Upload.from_db(self.alias, upload_sql.SESSION_FIELDS, (pk, uid, *rest))

    def advance(self, upload, new_offset, staged_digest):
        params = {"id": upload.pk, "old": upload.offset, "new": new_offset, "staged": staged_digest}
        return self._run("advance", {**params, "now": self._now()})

    def claim(self, repository_name, uid, digest, staged=None):
        params = {"uuid": self._uuid(uid), "repository": repository_name, "digest": digest, "staged": staged}
        rows = self._run("claim", {**params, "now": self._now()}, Upload)
        return rows[0] if rows else None

    def commit_blob(self, upload, digest, size):
        repository_id = getattr(upload, "known_repository_id", None)  # from claim()
        step = "commit_blob" if repository_id is not None else "commit_blob_new_repository"
        params = {"upload": upload.pk, "repository": repository_id, **self._new_repository(upload.repository_name)}
        return self._first(step, {**params, "digest": digest, "size": size}, Blob)

    def commit_layer(self, upload, digest, size):
        return self._first(
            "commit_layer", {"upload": upload.pk, "digest": digest, "size": size, "now": self._now()}, Blob
        )

    def link(self, repository_name, digest, size):
        return self._first("link", {**self._new_repository(repository_name), "digest": digest, "size": size}, Blob)

    def repository(self, name, public, description=""):
        params = {**self._new_repository(name, public), "description": description}
        return self._first("repository", params, Repository)

    def _new_repository(self, name, public=None):
        """The values of a repository row a push creates (used only if it is missing): public as configured
        unless said."""
        if public is None:
            public = bool(registry_setting("NEW_REPOSITORIES_PUBLIC"))
        namespace = references.namespace_of(name)
        return {"name": name, "namespace": namespace, "description": "", "public": public, "now": self._now()}

    def _first(self, step, params, model):
        rows = self._run(step, params, model)
        return rows[0] if rows else None

    def _run(self, step, params, model=None):
        """The step's statements in order (in one transaction when there are several); an empty guard
        (the first) ends it with no rows. The last gives the result: model instances, or plain rows or
        a row count without a model."""
        *before, last = self.statements[step]
        with transaction.atomic(using=self.alias, savepoint=False) if before else nullcontext():
            for sql in before:
                if self._execute(sql, params) == []:
                    return []
            if model is None:
                return self._execute(last, params)
            statement, values = self._statement(last, params)
            return list(model.objects.raw(statement, values).using(self.alias))

    def _execute(self, sql, params):
        connection = connections[self.alias]
        statement, values = self._statement(sql, params)
        with connection.cursor() as cursor:
            cursor.execute(statement, values)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    def _statement(self, sql, params):
        """The statement prepared on the server once per session (PostgreSQL, prepared.py), and its values."""
        connection = connections[self.alias]
        text, names = _positional(self.alias, sql)
        return prepared.server_statement(connection, text, len(names)) or text, [params[name] for name in names]

    def _uuid(self, uid):
        return Upload._meta.get_field("uuid").get_db_prep_value(uid, connections[self.alias])

    def _now(self):
        return connections[self.alias].ops.adapt_datetimefield_value(timezone.now())


@functools.cache
def _positional(alias, sql):
    """The statement with its table names filled in and `%(name)s` made positional, and the names in order."""
    connection = connections[alias]
    models = (Upload, Blob, BlobDeletion, Repository, RepositoryBlob)
    tables = {model.__name__: connection.ops.quote_name(model._meta.db_table) for model in models}
    names = []

    def positional(match):
        names.append(match.group(1))
        return "%s"

    return _NAMED.sub(positional, sql.format(**tables)), tuple(names)


def store():
    """The store of this process's database, its statements chosen on first use."""
    global _chosen
    if _chosen is None:
        alias = router.db_for_write(Blob)
        _chosen = Store(alias, upload_sql.for_vendor(connections[alias].vendor))
    return _chosen
