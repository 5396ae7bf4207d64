"""What an operator sees of a cache (issue #25 item 7), on content pulled over real HTTP through a real upstream
(Debian's docker-registry): the catalog's "cache of" badge, the admin and the JSON API with upstream, last
fetched, last pulled and size; the size follows eviction, and a repository whose images all went leaves them."""

import time
from datetime import timedelta

import pytest
import requests

from images.services import gc
from proxy import routing, services
from tests.support import live_server
from tests.support.seed import seed_image

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


@pytest.fixture
def berth(transactional_db, settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}  # pull bookkeeping before the answer
    routing.invalidate()
    with live_server.serving() as port:
        yield f"http://127.0.0.1:{port}"
    routing.invalidate()


def _pull(base, name, tag):
    """What a client pulling the image does: the manifest, then every blob. Returns the blob bytes."""
    manifest = requests.get(f"{base}/v2/{name}/manifests/{tag}", headers={"Accept": ACCEPT}, timeout=60)
    assert manifest.status_code == 200, manifest.text
    document = manifest.json()
    size = 0
    for blob in [document["config"], *document["layers"]]:
        got = requests.get(f"{base}/v2/{name}/blobs/{blob['digest']}", timeout=60)
        assert got.status_code == 200 and len(got.content) == blob["size"]
        size += blob["size"]
    return size


def _listed(admin_client):
    answer = admin_client.get("/api/proxy-cache/")
    assert answer.status_code == 200
    body = answer.json()
    return {row["repository"]: row for row in (body["results"] if isinstance(body, dict) else body)}


def _settled(admin_client, name, size, timeout=15):
    """The row once the last fetch committed (the client gets its last byte just before the commit)."""
    deadline = time.monotonic() + timeout
    row = _listed(admin_client)[name]
    while row["size"] != size and time.monotonic() < deadline:
        time.sleep(0.1)
        row = _listed(admin_client)[name]
    return row


def test_a_cached_repository_shows_its_upstream_times_and_size_everywhere(berth, admin_client, distribution, tmp_path):
    seed_image(distribution, "lib/app", "old", tmp_path, layer_size=200_000)
    seed_image(distribution, "lib/app", "new", tmp_path, layer_size=100_000)
    services.save("listing", distribution.url)
    old = _pull(berth, "listing/lib/app", "old")
    new = _pull(berth, "listing/lib/app", "new")

    row = _settled(admin_client, "listing/lib/app", old + new)
    assert row["upstream"] == distribution.url and row["upstream_name"] == "lib/app" and row["namespace"] == "listing"
    assert row["last_fetched_at"] and row["last_pulled_at"] and row["size"] == old + new
    page = admin_client.get("/admin/proxy/cachedrepository/").content.decode()
    assert "listing/lib/app" in page and "lib/app" in page
    home = requests.get(f"{berth}/", headers={"Accept": "text/html"}, timeout=60).text
    assert f"cache of {distribution.url}/lib/app" in home

    services.save("listing", distribution.url, max_size=old + new - 1)  # one image too many: the older goes
    gc.collect(grace=timedelta(0))
    assert _listed(admin_client)["listing/lib/app"]["size"] == new
    services.save("listing", distribution.url, max_size=1)
    gc.collect(grace=timedelta(0))
    assert "listing/lib/app" not in _listed(admin_client)
    assert "listing/lib/app" not in requests.get(f"{berth}/v2/_catalog", timeout=60).json()["repositories"]
