"""How long an in-place upgrade keeps the registry down: `migrate` from the previous release's schema
on a database of --tags tags (100,000 by default).

    DATABASE_URL=postgres://berth:berth@127.0.0.1:5432/postgres .venv/bin/python bench/upgrade_downtime.py

It checks out the previous release (OLD_RELEASE in tests/reliability/test_upgrade.py) with
`git worktree add`, migrates a fresh database with ITS manage.py, fills it with SQL (repositories of
100 tags, one manifest per tag with two layers, a shared pair of blobs, repository links), then
times this tree's `manage.py migrate` (every migration HEAD has) and prints the seconds. The
database and the checkout are removed at the end. Results: bench/RESULTS.md ("Upgrade downtime").
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.reliability.test_upgrade import OLD_RELEASE  # noqa: E402

TAGS_PER_REPOSITORY = 100

FILL = """
INSERT INTO images_repository (name, namespace, description, is_public, created_at)
  SELECT 'bench/repo-' || r, 'bench', '', true, now() FROM generate_series(1, %(repos)s) r;
INSERT INTO images_blob (digest, size, media_type, created_at) VALUES
  ('sha256:' || repeat('a', 64), 1000, 'application/vnd.oci.image.config.v1+json', now()),
  ('sha256:' || repeat('b', 64), 5000000, 'application/vnd.oci.image.layer.v1.tar+gzip', now());
INSERT INTO images_manifest (digest, media_type, payload, size, config_digest, config_media_type, artifact_type,
                             subject_digest, annotations, created_at)
  SELECT 'sha256:' || lpad(to_hex(m), 64, '0'), 'application/vnd.oci.image.manifest.v1+json',
         convert_to('{"schemaVersion":2,"n":' || m || '}', 'UTF8'), 400, 'sha256:' || repeat('a', 64),
         'application/vnd.oci.image.config.v1+json', '', '', '{}'::jsonb, now()
  FROM generate_series(1, %(tags)s) m;
INSERT INTO images_manifestlayer (manifest_id, position, digest, size, media_type)
  SELECT id, p, 'sha256:' || repeat('b', 64), 5000000, 'application/vnd.oci.image.layer.v1.tar+gzip'
  FROM images_manifest, generate_series(0, 1) p;
INSERT INTO images_repositorymanifest (repository_id, manifest_id, created_at)
  SELECT r.id, m.id, now() FROM images_manifest m
  JOIN images_repository r ON r.name = 'bench/repo-' || ((m.id - 1) / %(per)s + 1);
INSERT INTO images_repositoryblob (repository_id, blob_id, created_at)
  SELECT r.id, b.id, now() FROM images_repository r, images_blob b;
INSERT INTO images_tag (repository_id, name, manifest_id, v1_metadata, updated_at)
  SELECT rm.repository_id, 'v' || rm.manifest_id, rm.manifest_id, '{}'::jsonb, now()
  FROM images_repositorymanifest rm;
ANALYZE;
"""


def connect(url):
    parts = urlsplit(url)
    conn = psycopg2.connect(
        dbname=parts.path.lstrip("/") or "postgres",
        user=parts.username,
        password=parts.password,
        host=parts.hostname,
        port=parts.port,
    )
    conn.autocommit = True
    return conn


def manage(tree, database_url, data_dir, *args):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=database_url, BERTH_DATA_DIR=str(data_dir), STORAGE_PATH=str(data_dir / "storage"))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=tree, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{tree}: manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started, result.stdout


def slowest(output, count=5):
    """(migration, seconds) of the slowest migrations in `migrate --verbosity 2` output ("Applying x... OK (1.2s)")."""
    timed = re.findall(r"Applying (\S+)\.\.\. OK \(([\d.]+)s\)", output)
    return sorted(((name, float(secs)) for name, secs in timed), key=lambda item: -item[1])[:count]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if urlsplit(args.database_url).scheme not in ("postgres", "postgresql"):
        raise SystemExit(
            "set DATABASE_URL (or --database-url) to a PostgreSQL server where the user may CREATE DATABASE"
        )
    name = f"berth_upgrade_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(args.database_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))
    work = Path(tempfile.mkdtemp(prefix="berth-upgrade-"))
    old = work / "previous-release"
    admin = connect(args.database_url)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), OLD_RELEASE], check=True)
    try:
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        manage(old, url, work, "migrate", "--noinput")
        started = time.monotonic()
        with connect(url) as conn, conn.cursor() as cur:
            repos = -(-args.tags // TAGS_PER_REPOSITORY)
            cur.execute(FILL, {"repos": repos, "tags": args.tags, "per": TAGS_PER_REPOSITORY})
            cur.execute("SELECT count(*) FROM images_tag")
            tags = cur.fetchone()[0]
        print(f"filled {tags} tags in {repos} repositories ({time.monotonic() - started:.1f} s)")
        _, plan = manage(ROOT, url, work, "showmigrations", "--plan")
        pending = [line.split("]", 1)[1].strip() for line in plan.splitlines() if line.startswith("[ ]")]
        print(f"{len(pending)} migrations to apply: {', '.join(pending)}")
        seconds, output = manage(ROOT, url, work, "migrate", "--noinput", "--verbosity", "2")
        print(f"migrate from {OLD_RELEASE[:7]} on {tags} tags: {seconds:.1f} s (the registry is down this long)")
        print("slowest:", ", ".join(f"{name} {secs:.1f} s" for name, secs in slowest(output)))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
