"""Repositories per namespace (all and public), kept by triggers on images_repository (images/counters.py)
and filled here; a partial index over private repositories' namespaces (the rest of a visitor's menu)."""

from django.db import migrations, models

from images import counters


def install(apps, schema_editor):
    counters.install(schema_editor)  # all of them: 0009 may have rebuilt images_tag on SQLite
    for sql in counters._RECOUNT_NAMESPACES:
        schema_editor.execute(sql, None)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, table, *_ in counters.TRIGGERS:
        if name.startswith("berth_repo_"):
            for sql in counters._drop_sql(vendor, name, table):
                schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("images", "0009_tag_natural_sort_key")]

    operations = [
        migrations.CreateModel(
            name="NamespaceCount",
            fields=[
                ("namespace", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("repositories", models.BigIntegerField(default=0)),
                ("public_repositories", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name="repository",
            index=models.Index(
                condition=models.Q(("is_public", False)), fields=["namespace"], name="repo_private_namespace"
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
