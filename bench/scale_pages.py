#!/usr/bin/env python3
"""The scale run of issue #35: every catalog page, API list and admin changelist at 100,000 repositories.

    .venv/bin/python bench/scale_pages.py [--repos 100000] [--tags-per-repo 9] [--big-tags 100000]
                                          [--requests 40] [--out bench/out/scale-pages.json]

Starts Berth in its production shape (gunicorn, a fresh PostgreSQL database, token auth on, pages read
anonymously), seeds the catalog with bulk SQL (bench/harness/seed_scale.py: REPOS repositories, one of
them `big/monorepo` with BIG_TAGS tags sharing one image, the others TAGS_PER_REPO tags each), then
times REQUESTS sequential GETs of each page (p50/p95) and counts the SQL queries and bytes of each
(rendered in-process over the same database). Deep pages use cursors from halfway down each list.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import scale, servers  # noqa: E402

TARGET_MS, MAX_HTML = 50, 200_000


_answering = servers.wait_until_answering
# With token auth on, /v2/ answers 401: wait for /healthz instead.
servers.wait_until_answering = lambda url, *a, **k: _answering(url.replace("/v2/", "/healthz"), *a, **k)


class ScaleBerth(servers.Berth):
    def env(self):
        return {**super().env(), "REGISTRY_AUTH": "token", "BERTH_ANONYMOUS_PULL": "true"}


def pages(c, digest):
    """{key: (path, admin)}: every row of the issue's table, deep pages included."""
    big = "/r/big/monorepo/"
    return {
        "catalog": ("/v2/_catalog?n=100", False),
        "catalog_last": ("/v2/_catalog?n=100&last=team250/api-050000", False),
        "v1_search": ("/v1/search?q=gateway", False),
        "home": ("/", False),
        "home_search": ("/?q=gateway-cache", False),
        "home_namespace": ("/?namespace=team123", False),
        "home_deep": (f"/?cursor={c['home']}", False),
        "home_size_deep": (f"/?sort=size&cursor={c['home_size']}", False),
        "home_pushed_deep": (f"/?sort=pushed&cursor={c['home_pushed']}", False),
        "home_old_page_500": ("/?page=500", False),
        "api_repositories_deep": (f"/api/repositories/?cursor={c['api_repositories']}", False),
        "api_repositories_old_page_500": ("/api/repositories/?page=500", False),
        "api_tags_deep": (f"/api/tags/?repository=big/monorepo&cursor={c['tags_name']}", False),
        "api_search": ("/api/search/?q=gateway", False),
        "storage": ("/storage/", False),
        "repository_big": (big, False),
        "repository_big_deep": (f"{big}?cursor={c['tags_pushed']}", False),
        "repository_big_name_deep": (f"{big}?sort=name&cursor={c['tags_name']}", False),
        "tag_page_shared_by_all": (f"{big}-/tags/build-7/", False),
        "tags_of_the_image": (f"{big}?sort=name&all=1&digest={digest}", False),
        "admin_repositories": ("/admin/images/repository/", True),
        "admin_tags": ("/admin/images/tag/", True),
        "admin_tags_of_big": (f"/admin/images/tag/?repository__id__exact={c['big_id']}", True),
        "admin_manifests": ("/admin/images/manifest/", True),
        "admin_repository_big": (f"/admin/images/repository/{c['big_id']}/change/", True),
    }


def accept(path):
    """The JSON API's rows are read as API clients read them (JSON); every other page as a browser does."""
    return "application/json" if path.startswith("/api/") else "text/html"


def admin_cookie(berth):
    import requests

    session = requests.Session()
    login = session.get(f"{berth.url}/admin/login/", timeout=60)
    token = session.cookies.get("csrftoken")
    form = {"username": "bench-admin", "password": "bench-admin-password", "csrfmiddlewaretoken": token}
    session.post(login.url, data=form, headers={"Referer": login.url}, timeout=60)
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--tags-per-repo", type=int, default=9)
    parser.add_argument("--big-tags", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--out", default=str(BENCH / "out" / "scale-pages.json"))
    args = parser.parse_args()
    # A PostgreSQL server already running (DATABASE_URL: a fresh database is made next to it), else
    # scripts/services.sh starts one for the run.
    services = None if os.environ.get("DATABASE_URL") else servers.Services(want_docker=False).start()
    workdir = Path(tempfile.mkdtemp(prefix="berth-scale-"))
    berth = ScaleBerth(workdir, os.environ.get("DATABASE_URL") or services.database_url)
    try:
        berth.start()
        seeded = json.loads(
            berth.run_python(BENCH / "harness" / "seed_scale.py", args.repos, args.tags_per_repo, args.big_tags)
        )
        print(
            f"seeded {seeded['repositories']:,} repositories, {seeded['tags']:,} tags in {seeded['seconds']:.0f} s",
            flush=True,
        )
        cursors = json.loads(berth.run_python(BENCH / "harness" / "deep_cursors.py"))
        targets = pages(cursors, seeded["digest"])
        counted = json.loads(berth.run_python(BENCH / "harness" / "count_queries.py", berth.host, json.dumps(targets)))
        client, cookie = scale.Client("127.0.0.1", berth.port), admin_cookie(berth)
        timed = {
            key: {"berth": (client, path, {"Accept": accept(path), **({"Cookie": cookie} if admin else {})}, 200)}
            for key, (path, admin) in targets.items()
        }
        found = scale.latencies(timed, args.requests, budget_s=60.0)
        rows = report(targets, found, counted)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "seeded": seeded, "rows": rows}, indent=2))
    finally:
        berth.stop()
        if services is not None:
            services.stop()


def report(targets, found, counted):
    rows = []
    print("| page | p50 ms | p95 ms | bytes | queries |\n|---|---:|---:|---:|---:|")
    for key, (path, _) in targets.items():
        t, c = found[key]["berth"], counted[key]
        flag = "" if t["p95_ms"] < TARGET_MS and t["bytes"] <= MAX_HTML else " **over target**"
        print(
            f"| {key} `{path[:60]}` | {t['p50_ms']:.1f} | {t['p95_ms']:.1f} | {t['bytes']:,} | {c['queries']} |{flag}"
        )
        rows.append({"key": key, "path": path, **t, "queries": c["queries"]})
    return rows


if __name__ == "__main__":
    main()
