"""Seed the scale run's catalog with bulk SQL (run by bench/scale_pages.py with the server's env).

    python bench/harness/seed_scale.py REPOS TAGS_PER_REPO BIG_TAGS

One image is pushed through the services (real blobs, manifest, config); then REPOS - 1 repositories
(team000/api-000000 …, 500 namespaces) each link it with TAGS_PER_REPO tags, and `big/monorepo`
holds BIG_TAGS tags (build-0 …) that all name it. Rows go in with INSERT … SELECT generate_series,
with the counter triggers off; `counters.recount()` then fills the kept counts once; VACUUM ANALYZE.
Prints one JSON object: what was seeded and how long it took, plus the ids the pages need.
"""

import json
import sys
import time

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from images import counters  # noqa: E402
from images.models import Manifest, ManifestLayer, natural_sort_key  # noqa: E402
from tests.support import content  # noqa: E402

WORDS = (
    "api web worker redis postgres nginx gateway auth billing search frontend backend cache queue "
    "scheduler metrics logging mailer payments inventory catalog orders users profile media upload"
).split()
TAG_NAMES = ["latest", "1.0", "1.1", "1.2", "2.0", "stable", "dev", "edge", "rc", "nightly"]
TRIGGERED = ("images_tag", "images_repositoryblob", "images_blob", "images_manifest")

# The natural sort key of build-<i>, in SQL (images.models.natural_sort_key; checked below).
BUILD_KEY = (
    "encode('build-'::bytea, 'hex') || '00' || lpad(to_hex(length(i::text)), 2, '0') || i::text || '00' || '00' "
    "|| encode(('build-' || i)::bytea, 'hex')"
)


def seed(repos, tags_per_repo, big_tags):
    digest = content.push_image("big/monorepo", "build-0", layers=2, layer_size=4096)
    manifest = Manifest.objects.get(digest=digest)
    layers = ManifestLayer.objects.filter(manifest=manifest)  # config + layers
    layer_digests = list(layers.values_list("digest", flat=True))
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    tags = TAG_NAMES[:tags_per_repo]
    tag_rows = ",".join(f"('{t}', '{natural_sort_key(t)}', {n})" for n, t in enumerate(tags))
    with transaction.atomic(), connection.cursor() as cur:
        for table in TRIGGERED:
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cur.execute(
            "INSERT INTO images_repository (name, namespace, description, is_public, created_at, last_push_at,"
            " pull_count, tag_count, total_size)"
            " SELECT 'team' || lpad((i %% 500)::text, 3, '0') || '/' || (" + words + ")[1 + (i / 500) %% %s]"
            " || '-' || lpad(i::text, 6, '0'), 'team' || lpad((i %% 500)::text, 3, '0'),"
            " 'The ' || (" + words + ")[1 + (i / 500) %% %s] || ' service of team ' || (i %% 500), true,"
            " now(), now() - i * interval '1 second', 0, 0, 0 FROM generate_series(0, %s) AS i",
            [len(WORDS), len(WORDS), repos - 2],
        )
        cur.execute(
            "INSERT INTO images_repositorymanifest (repository_id, manifest_id, created_at)"
            " SELECT id, %s, now() FROM images_repository WHERE name <> 'big/monorepo'",
            [manifest.pk],
        )
        cur.execute(
            "INSERT INTO images_repositoryblob (repository_id, blob_id, created_at)"
            " SELECT r.id, b.id, now() FROM images_repository r, images_blob b"
            " WHERE r.name <> 'big/monorepo' AND b.digest = ANY(%s)",
            [layer_digests],
        )
        cur.execute(
            "INSERT INTO images_tag (repository_id, name, manifest_id, v1_metadata, updated_at, pull_count, sort_key)"
            f" SELECT r.id, t.name, %s, '{{}}', r.last_push_at - t.n * interval '1 ms', 0, t.key"
            f" FROM images_repository r, (VALUES {tag_rows}) AS t(name, key, n) WHERE r.name <> 'big/monorepo'",
            [manifest.pk],
        )
        cur.execute(
            "INSERT INTO images_tag (repository_id, name, manifest_id, v1_metadata, updated_at, pull_count, sort_key)"
            f" SELECT r.id, 'build-' || i, %s, '{{}}', now() - i * interval '1 second', 0, {BUILD_KEY}"
            " FROM images_repository r, generate_series(1, %s) AS i WHERE r.name = 'big/monorepo'",
            [manifest.pk, big_tags - 1],
        )
        cur.execute("SELECT name, sort_key FROM images_tag WHERE name IN ('build-7', 'build-10', 'build-12345')")
        for name, key in cur.fetchall():
            assert key == natural_sort_key(name), (name, key)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys are checked now, before ALTER TABLE
        for table in TRIGGERED:
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    counters.recount()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # what autovacuum would have done by then (index-only scans)
    user = get_user_model()
    if not user.objects.filter(username="bench-admin").exists():
        user.objects.create_superuser("bench-admin", "bench@example.invalid", "bench-admin-password")
    return digest


def main():
    repos, tags_per_repo, big_tags = (int(a) for a in sys.argv[1:4])
    started = time.monotonic()
    digest = seed(repos, tags_per_repo, big_tags)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), (SELECT count(*) FROM images_tag) FROM images_repository")
        n_repos, n_tags = cur.fetchone()
    print(
        json.dumps({"repositories": n_repos, "tags": n_tags, "digest": digest, "seconds": time.monotonic() - started})
    )


if __name__ == "__main__":
    main()
