"""Tag.sort_key: the natural order of tag names as a string the database can index (keyset pages of a
repository's tags, images/keyset.py). Filled here for the tags that exist, a batch at a time."""

from django.db import migrations, models

from images.models import natural_sort_key

BATCH = 1000


def fill(apps, schema_editor):
    """One UPDATE ... FROM (VALUES) per batch, a hash join on both databases (bulk_update's CASE per row grows
    with the batch: 23 s for 100,000 tags, bench/upgrade_downtime.py)."""
    Tag = apps.get_model("images", "Tag")
    table = schema_editor.quote_name(Tag._meta.db_table)
    last = 0
    while True:
        rows = list(Tag.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "name")[:BATCH])
        if not rows:
            return
        values = ", ".join(["(%s, %s)"] * len(rows))
        params = [item for pk, name in rows for item in (pk, natural_sort_key(name))]
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"WITH keyed(tag_id, sort_key) AS (VALUES {values}) "
                f"UPDATE {table} SET sort_key = keyed.sort_key FROM keyed WHERE {table}.id = keyed.tag_id",
                params,
            )
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("images", "0008_scale_counters")]

    operations = [
        migrations.AddField(
            model_name="tag",
            name="sort_key",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=800),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="tag",
            index=models.Index(fields=["repository", "sort_key", "id"], name="tag_name_keyset"),
        ),
        migrations.AddIndex(
            model_name="tag",
            index=models.Index(fields=["repository", "manifest", "sort_key"], name="tag_by_image"),
        ),
    ]
