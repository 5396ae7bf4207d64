"""Insert the scale-run repositories into Berth's database (run by bench with the server's env).

    python bench/harness/seed_berth.py NAMES_FILE TAGS_PER_REPO MANIFEST_DIGEST

NAMES_FILE: one "name<TAB>description" per line. Every repository gets the manifest (it must
already exist: the benchmark pushed it) linked and TAGS_PER_REPO tags pointing at it.
"""

import sys
import time
from datetime import timedelta

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from images.models import Manifest, Repository, RepositoryManifest, Tag  # noqa: E402

BATCH = 5000
TAG_NAMES = ["latest", "1.0", "1.1", "1.2", "2.0", "stable", "dev", "edge"]


def main(names_file, tags_per_repo, manifest_digest):
    started = time.monotonic()
    manifest = Manifest.objects.get(digest=manifest_digest)
    rows = [line.rstrip("\n").split("\t", 1) for line in open(names_file, encoding="utf-8") if line.strip()]
    now = timezone.now()
    tag_names = TAG_NAMES[:tags_per_repo]
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        with transaction.atomic():
            repos = Repository.objects.bulk_create(
                Repository(
                    name=name,
                    namespace=name.rsplit("/", 1)[0] if "/" in name else "",
                    description=description,
                    last_push_at=now - timedelta(minutes=start + i),
                )
                for i, (name, description) in enumerate(chunk)
            )
            RepositoryManifest.objects.bulk_create(RepositoryManifest(repository=r, manifest=manifest) for r in repos)
            Tag.objects.bulk_create(Tag(repository=r, name=t, manifest=manifest) for r in repos for t in tag_names)
    with connection.cursor() as cur:
        for table in (Repository, Tag, RepositoryManifest):
            cur.execute(f"ANALYZE {table._meta.db_table}")
    print(f"seeded {len(rows)} repositories x {len(tag_names)} tags in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
