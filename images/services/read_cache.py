"""The hottest reads' answers, kept per process and dropped as soon as the database says anything changed.

A manifest lookup (by tag or digest), a tags page and a catalog page are answered from this process's
memory while no row of the tables they read (repositories, tags, manifests, their links) has changed
since. The database itself says when one did, whatever code path changes it (a push, a delete, the
admin, the collector, a migration, another process or another instance on the same database):

- PostgreSQL: statement triggers on those tables `NOTIFY berth_reads`; each process LISTENs on a
  connection of its own (images/services/change_listener.py). PostgreSQL signals every listener at
  commit, before the writer's COMMIT returns, and every cached read first takes in what its listener
  has received: a change is seen by the first read after the notice reached the process, which on one
  machine or network is well before a client can ask another instance (tests/e2e/test_two_instances.py
  moves a tag through one instance and reads it through the other, 40 times over). Until the listening
  connection is up, and while it is down, nothing is cached (reads go to the database, as before); each
  new connection starts empty.
- SQLite: row triggers count changes in `berth_read_generation`; each cached read reads the count (a
  local read, no round trip) and finds the cache stale when it moved.

This process's own changes are seen by its very next read, without waiting for any notice: every statement
it runs through Django that writes one of those tables counts, once it commits, as a change of its own
(`note_writes`, installed on each connection). A GET through a pull-through cache stores what it fetched
and reads it back in the same request; the notice from its own commit may still be on its way then.

Reads inside a transaction are never cached (they may see rows that are rolled back). Only the lookups'
rows are cached: who may read them is decided at every request, as before. BERTH_READ_CACHE=false turns
it off (behind a pooler that does not keep a LISTEN session, e.g. PgBouncer in transaction mode); at
start-up a database without the triggers (a later migration that rebuilt a table on SQLite) turns it off
with a warning.
"""

import itertools
import logging
import os
import threading

from django.db import connections

from images.conf import registry_setting
from images.services import change_listener, prepared

logger = logging.getLogger("berth.read_cache")
ENABLED = registry_setting("READ_CACHE")  # chosen once, at start-up
MAX_ENTRIES = 20_000
CHANNEL = change_listener.CHANNEL
TABLES = ("images_repository", "images_tag", "images_manifest", "images_repositorymanifest")
_SQLITE_COUNT = "berth_read_generation"
_GENERATION_SQL = f"SELECT seq FROM {_SQLITE_COUNT} WHERE id = 1"


class _Cache:
    """Entries of one generation; a new generation starts empty. Safe between threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.generation = None
        self.entries = {}

    def entries_of(self, generation):
        if generation != self.generation:
            with self.lock:
                if generation != self.generation:
                    self.generation, self.entries = generation, {}
        return self.entries

    def store(self, generation, key, value):
        with self.lock:
            if generation != self.generation:
                return  # something changed while it was read: not kept
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.pop(next(iter(self.entries)))
            self.entries[key] = value


_cache = _Cache()
_own_changes = itertools.count(1)
_own = [0]  # how many of this process's own committed changes to TABLES (note_writes)
_state = {"pid": None, "usable": None}
_state_lock = threading.Lock()
_MISSING = object()


def lookup(key, compute):
    """compute()'s answer for `key`, from this process's memory while nothing it reads has changed."""
    if not ENABLED:
        return compute()
    connection = connections["default"]
    if connection.in_atomic_block:
        return compute()
    generation = _generation(connection)
    if generation is None:
        return compute()
    value = _cache.entries_of(generation).get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        _cache.store(generation, key, value)
    return value


def settle():
    """After a request that may have changed something: return once this process has taken in every change
    committed so far (PostgreSQL: one round trip on the listening session; SQLite: nothing to wait for), so
    that its answer never goes out before the process itself would see the change."""
    if not ENABLED:
        return
    connection = connections["default"]
    if connection.vendor == "postgresql" and _state["pid"] == os.getpid() and _state["usable"]:
        change_listener.settle(connection)


def _generation(connection):
    """Where this process is in the database's changes, or None when it cannot tell (then: no cache)."""
    if _state["pid"] != os.getpid():
        _start(connection)
    if not _state["usable"]:
        return None
    if connection.vendor == "sqlite":
        rows = prepared._run(connection, _GENERATION_SQL, [])
        return (connection.settings_dict["NAME"], rows[0][0]) if rows else None
    told = change_listener.generation(connection)
    return None if told is None else (told, _own[0])


# --- this process's own changes -----------------------------------------------------------------------

_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCA")


def note_writes(connection):
    """Count this connection's writes to TABLES as this process's own changes once they commit (a
    connection_created receiver, images/apps.py; SQLite's count sees them anyway). First in the list: Django's
    `execute_wrapper()` pops the last one when its block ends. The hot reads bypass these wrappers (prepared.py)."""
    if ENABLED and connection.vendor == "postgresql" and _count_own_writes not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _count_own_writes)


def _count_own_writes(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if isinstance(sql, str) and sql.lstrip()[:6].upper() in _WRITES and any(table in sql for table in TABLES):
        connection = context["connection"]
        if connection.in_atomic_block:
            connection.on_commit(_changed_here)
        else:  # autocommit: committed as it returned
            _changed_here()
    return result


def _changed_here():
    _own[0] = next(_own_changes)


def _start(connection):
    """Once per process (a forked worker starts again): check that the triggers are there."""
    with _state_lock:
        if _state["pid"] == os.getpid():
            return
        missing = sorted(set(_trigger_names()) - installed(connection))
        if missing:
            logger.warning("read cache off: the database lacks its triggers %s (run `manage.py migrate`)", missing)
        _state["usable"] = not missing
        _state["pid"] = os.getpid()


def reset():
    """Start again at the next read (tests that drop and recreate triggers)."""
    with _state_lock:
        _state["pid"] = None
    _cache.entries_of(object())


# --- the triggers (images/migrations/0011_read_cache_triggers.py) -------------------------------------


def _trigger_names():
    return [f"berth_reads_{table}" for table in TABLES]


def installed(connection):
    """Names of this module's triggers present in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'berth_reads_%'")
            names = {row[0] for row in cursor.fetchall()}
            return {name for name in _trigger_names() if all(f"{name}_{e}" in names for e in _SQLITE_EVENTS)}
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'berth_reads_%' AND NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()}


_SQLITE_EVENTS = ("ins", "upd", "del")
_SQLITE_BUMP = (
    f"INSERT INTO {_SQLITE_COUNT} (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = {_SQLITE_COUNT}.seq + 1"
)


def install(schema_editor):
    """(Re)create the triggers. On SQLite a migration that rebuilds one of TABLES drops its triggers: such a
    migration must call this again at its end (else the cache turns itself off, see _start)."""
    execute = schema_editor.execute
    for sql in _uninstall_sql(schema_editor.connection.vendor):
        execute(sql, None)
    if schema_editor.connection.vendor == "sqlite":
        execute(f"CREATE TABLE IF NOT EXISTS {_SQLITE_COUNT} (id integer PRIMARY KEY, seq integer NOT NULL)", None)
        execute(f"INSERT OR IGNORE INTO {_SQLITE_COUNT} (id, seq) VALUES (1, 0)", None)
        for name, table in zip(_trigger_names(), TABLES, strict=True):
            for event, verb in zip(_SQLITE_EVENTS, ("INSERT", "UPDATE", "DELETE"), strict=True):
                execute(f"CREATE TRIGGER {name}_{event} AFTER {verb} ON {table} BEGIN {_SQLITE_BUMP}; END", None)
        return
    execute(
        "CREATE OR REPLACE FUNCTION berth_reads_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$",
        None,
    )
    for name, table in zip(_trigger_names(), TABLES, strict=True):
        execute(
            f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION berth_reads_changed()",
            None,
        )


def uninstall(schema_editor):
    for sql in _uninstall_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, None)


def _uninstall_sql(vendor):
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}_{e}" for name in _trigger_names() for e in _SQLITE_EVENTS]
    drops = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in zip(_trigger_names(), TABLES, strict=True)]
    return [*drops, "DROP FUNCTION IF EXISTS berth_reads_changed()"]
