"""Querysets compiled to SQL once per process, for the hottest read paths.

Django compiles a queryset to SQL each time it is evaluated. For a manifest GET by tag (one join, one
row) that compilation costs more CPU than the database round trip and the rest of the request put
together. A `Prepared` query is built once from a queryset factory called with marker values; each
call then binds the real values to the same SQL text and runs it on a Django cursor (so query logging,
`assertNumQueries` and the connection's error handling all still apply).

Only plain columns belong in a prepared query: the rows come back as the database driver returns
them, without Django's per-field converters (no JSON or datetime columns).
"""

from django.db import connections


class Prepared:
    def __init__(self, factory, *params):
        self.factory = factory
        self.params = params
        self._compiled = None

    def _compile(self):
        marks = {name: f"\x1fprepared:{name}\x1f" for name in self.params}
        qs = self.factory(**marks)
        sql, values = qs.query.get_compiler(using=qs.db).as_sql()
        by_mark = {mark: name for name, mark in marks.items()}
        unknown = [v for v in values if v not in by_mark]
        if unknown:
            raise ValueError(f"prepared query has parameters that are not markers: {unknown!r}")
        self._compiled = (qs.db, sql, [by_mark[v] for v in values], qs.model)
        return self._compiled

    def rows(self, **values):
        db, sql, order, _ = self._compiled or self._compile()
        with connections[db].cursor() as cursor:
            cursor.execute(sql, [values[name] for name in order])
            return cursor.fetchall()

    def instances(self, fields, **values):
        """Model instances from a `values_list(*fields)` query; other fields load on access."""
        db, _, _, model = self._compiled or self._compile()
        return [model.from_db(db, fields, row) for row in self.rows(**values)]
