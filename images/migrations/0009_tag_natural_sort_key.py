"""Tag.sort_key: the natural order of tag names as a string the database can index (keyset pages of a
repository's tags, images/keyset.py). Filled here for the tags that exist, a batch at a time."""

from django.db import migrations, models

from images.models import natural_sort_key

BATCH = 5000


def fill(apps, schema_editor):
    Tag = apps.get_model("images", "Tag")
    last = 0
    while True:
        rows = list(Tag.objects.filter(pk__gt=last).order_by("pk").only("pk", "name")[:BATCH])
        if not rows:
            return
        for tag in rows:
            tag.sort_key = natural_sort_key(tag.name)
        Tag.objects.bulk_update(rows, ["sort_key"])
        last = rows[-1].pk


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
