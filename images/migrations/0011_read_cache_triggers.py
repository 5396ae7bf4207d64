"""Triggers that tell each process's read cache a repository, tag, manifest or link changed
(images/services/read_cache.py): NOTIFY on PostgreSQL, a change count on SQLite."""

from django.db import migrations

from images.services import read_cache


def install(apps, schema_editor):
    read_cache.install(schema_editor)


def uninstall(apps, schema_editor):
    read_cache.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("images", "0010_namespace_counts")]

    operations = [migrations.RunPython(install, uninstall)]
