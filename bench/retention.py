"""Times retention on one repository with 10,000 tags (each its own manifest and layer): the dry run, then
the real run (through images/services/manifests.delete_many), keeping the 10 most recent.

    DATABASE_URL=postgres://berth:berth@127.0.0.1:5432/berth .venv/bin/python bench/retention.py [--tags 10000]

Runs in a throw-away test database (Django's test database machinery: `test_<name>`, created and dropped),
never in the one DATABASE_URL names. Not part of the test suite: it takes seconds, it asserts nothing.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")


def seed(count):
    from django.utils import timezone

    from images.models import Blob, Manifest, ManifestLayer, Repository, RepositoryBlob, RepositoryManifest, Tag

    repo = Repository.objects.create(name="bench/app", namespace="bench")
    blobs = Blob.objects.bulk_create(Blob(digest=f"sha256:{i:064x}", size=1000 + i) for i in range(count))
    found = Manifest.objects.bulk_create(
        Manifest(
            digest=f"sha256:{i + 10**9:064x}",
            media_type="application/vnd.oci.image.manifest.v1+json",
            payload=b"{}",
            size=2,
        )
        for i in range(count)
    )
    ManifestLayer.objects.bulk_create(
        ManifestLayer(manifest=m, position=0, digest=b.digest, size=b.size, media_type="x")
        for m, b in zip(found, blobs, strict=True)
    )
    RepositoryBlob.objects.bulk_create(RepositoryBlob(repository=repo, blob=b) for b in blobs)
    RepositoryManifest.objects.bulk_create(RepositoryManifest(repository=repo, manifest=m) for m in found)
    Tag.objects.bulk_create(Tag(repository=repo, name=f"build-{i}", manifest=m) for i, m in enumerate(found))
    now = timezone.now()
    for i in range(0, count, 1000):  # distinct push times (auto_now set them all alike)
        for tag in Tag.objects.filter(repository=repo, name__in=[f"build-{j}" for j in range(i, i + 1000)]):
            Tag.objects.filter(pk=tag.pk).update(updated_at=now - timedelta(seconds=count - int(tag.name[6:])))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=10_000)
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection

    from accounts.services.organisations import OPERATOR
    from policies.services import retention, rules

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        seed(args.tags)
        rules.set_policy(OPERATOR, "bench", {"keep_last": 10})
        for dry in (True, False):
            started = time.monotonic()
            record = retention.run("bench", dry_run=dry)
            seconds = time.monotonic() - started
            print(
                f"apply_retention{' --dry-run' if dry else ''} on {args.tags} tags: {seconds:.2f} s "
                f"({record.tags_removed} tags, {record.manifests_removed} manifests, {record.bytes_freed} bytes)"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
