"""Trigram indexes for repository search on PostgreSQL (search/services.py).

Search matches `name LIKE '%term%'` and `UPPER(description) LIKE UPPER('%term%')`; without these
every search reads the whole table (about 100 ms at 100,000 repositories). pg_trgm is a trusted
extension, so the database owner may create it. SQLite has no such index: nothing is done there.
"""

from django.db import migrations

INDEXES = {
    "images_repo_name_trgm": '"name" gin_trgm_ops',
    "images_repo_descr_trgm": 'UPPER("description") gin_trgm_ops',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "images_repository" USING gin ({expression})')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("images", "0003_operations")]

    operations = [migrations.RunPython(create, drop)]
