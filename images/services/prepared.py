"""Querysets compiled to SQL once per process, for the hottest read paths.

Django compiles a queryset to SQL each time it is evaluated. For a manifest GET by tag (one join, one
row) that compilation costs more CPU than the database round trip and the rest of the request put
together. A `Prepared` query is built once from a queryset factory called with marker values; each
call then binds the real values to the same SQL text and runs it on the connection's DB-API cursor with
Django's connection handling (`_run`), logged in the connection's query log as Django's cursor logs
while queries are logged (DEBUG, `assertNumQueries`).

The rows get the same per-field converters Django applies (a datetime or boolean column on SQLite comes
back as its Python value); the converters are looked up once, with the SQL, and most columns have none.

On PostgreSQL the SQL is also prepared on the server, once per connection (`PREPARE`, then
`EXECUTE` with the values): PostgreSQL then skips parsing and, after a few runs, planning, which was
most of its time for these one-row lookups. Set `BERTH_DB_SERVER_PREPARE=false` behind a pooler
that hands one session's statements to another (PgBouncer in transaction mode).
"""

import functools
import time

from django.db import connections

from images.conf import registry_setting

SERVER_PREPARE = registry_setting("DB_SERVER_PREPARE")  # chosen once, at start-up
MAX_PER_CONNECTION = 100  # page queries differ by page size; past this many, run the plain SQL


class Prepared:
    def __init__(self, factory, *params):
        self.factory = factory
        self.params = params
        self._compiled = None

    def _compile(self):
        marks = {name: f"\x1fprepared:{name}\x1f" for name in self.params}
        qs = self.factory(**marks)
        compiler = qs.query.get_compiler(using=qs.db)
        sql, values = compiler.as_sql()
        by_mark = {mark: name for name, mark in marks.items()}
        unknown = [v for v in values if v not in by_mark]
        if unknown:
            raise ValueError(f"prepared query has parameters that are not markers: {unknown!r}")
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        self._compiled = (qs.db, sql, [by_mark[v] for v in values], qs.model, list(converters.items()))
        return self._compiled

    def rows(self, **values):
        db, sql, order, _, converters = self._compiled or self._compile()
        connection = connections[db]
        rows = _run(connection, sql, [values[name] for name in order])
        return [_converted(row, converters, connection) for row in rows] if converters else rows

    def instances(self, fields, **values):
        """Model instances from a `values_list(*fields)` query; other fields load on access."""
        db, _, _, model, _ = self._compiled or self._compile()
        return [model.from_db(db, fields, row) for row in self.rows(**values)]


def _run(connection, sql, params):
    """The rows of `statement` on the connection's own DB-API cursor, with Django's connection handling
    (connect, health check, thread check, errors as django.db errors) but not its cursor wrappers: those
    re-check async safety (an environment lookup in the asgi worker's loop) and, on SQLite, rewrite the
    SQL's placeholders with a regex at every call; together about 15 % of a manifest GET's CPU there
    (bench/RESULTS.md, "Round 2, session 10")."""
    connection.close_if_health_check_failed()
    if connection.connection is None:
        connection.ensure_connection()
    connection.validate_thread_sharing()
    statement = server_statement(connection, sql, len(params)) or sql  # on the session just checked
    with connection.wrap_database_errors:
        if connection.vendor == "sqlite":  # sqlite3's own cursor: Django's wrapper only rewrites placeholders
            cursor = connection.connection.cursor()
        else:  # the backend's (psycopg's time zones, cursor factory)
            cursor = connection.create_cursor()
        started = time.monotonic()
        try:
            try:
                cursor.execute(_native(connection.vendor, statement), params)
            except Exception as exc:
                if statement is sql or not _statement_lost(exc) or connection.in_atomic_block:
                    raise
                # The session lost what this process prepared on it (seen once in CI after a database restart,
                # not explained): forget its statements and answer with the plain SQL.
                connection._berth_prepared = None
                cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            if connection.queries_logged:  # DEBUG or a test counting queries: logged as Django's cursor does
                executed = connection.ops.last_executed_query(cursor, statement, params)
                connection.queries_log.append({"sql": executed, "time": "%.3f" % (time.monotonic() - started)})
            cursor.close()


def _statement_lost(exc):
    return getattr(exc, "pgcode", None) == "26000"  # invalid_sql_statement_name: no such prepared statement


@functools.cache
def _native(vendor, sql):
    """The SQL as the driver takes it: SQLite's driver wants `?` where Django's SQL has `%s`."""
    if vendor != "sqlite":
        return sql
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    return SQLiteCursorWrapper.convert_query(None, sql)


@functools.cache
def columns(model):
    """Every column of `model` (attribute names), for a prepared query that reads whole rows."""
    return tuple(field.attname for field in model._meta.concrete_fields)


def _converted(row, converters, connection):
    row = list(row)
    for position, (functions, expression) in converters:
        for function in functions:
            row[position] = function(row[position], expression, connection)
    return tuple(row)


def server_statement(connection, sql, count):
    """`EXECUTE name (%s, ...)` for SQL prepared on this PostgreSQL session, or None for the plain SQL."""
    if connection.vendor != "postgresql" or not SERVER_PREPARE or "%%" in sql or connection.in_atomic_block:
        return None  # (in a transaction: a lost statement could not be retried there)
    connection.ensure_connection()
    session = connection.connection  # a reconnect is a new session, with nothing prepared yet
    known = getattr(connection, "_berth_prepared", None)
    if known is None or known[0] is not session:
        known = connection._berth_prepared = (session, {})
    statements = known[1]
    statement = statements.get(sql)
    if statement is None:
        if len(statements) >= MAX_PER_CONNECTION:
            return None
        name = f"berth_prepared_{len(statements)}"
        numbered = sql.split("%s")
        text = numbered[0] + "".join(f"${i}{part}" for i, part in enumerate(numbered[1:], start=1))
        with connection.wrap_database_errors, session.cursor() as raw:
            raw.execute(f"PREPARE {name} AS {text}")  # not a query of the request: left out of query counts
        statement = statements[sql] = f"EXECUTE {name}" + (f" ({', '.join(['%s'] * count)})" if count else "")
    return statement
