"""A fleet under faults: three Berth instances (gunicorn) behind nginx with the shipped config's
upstream and retry rules, one PostgreSQL, one object store (Swift's S3 API).

Clients push distinct images in chunked uploads (resuming where the registry says after any failure)
while others pull and verify; every 20-40 s one random instance is killed with -9 and restarted, and
PostgreSQL restarts once. Afterwards every acknowledged push pulls back byte-identical from every
instance, no pull ever returned wrong bytes, the only client-visible errors are resets and
502/503/504 that a retry got past (counted and printed), verify_blobs exits 0 and no row is orphaned.

CI runs 3 minutes with 4 pushers and 4 pullers. The full run (10 minutes, 8 + 8):

    BERTH_FLEET_SECONDS=600 BERTH_FLEET_CLIENTS=8 .venv/bin/pytest tests/reliability/test_fleet.py -s
"""

import os
import random
import subprocess
import threading
import time
import uuid

import psycopg2
import pytest
import requests

from tests.e2e.ops_helpers import TIMEOUT, sha256
from tests.e2e.servers import REPO_ROOT, StartError
from tests.e2e.test_shared_storage import s3_client
from tests.reliability.fleet import FleetBerth, Nginx, Tally, pull_and_verify, puller, pusher
from tests.reliability.registry import CHUNK, assert_pulls_identical, random_image
from tests.reliability.services import verify_blobs

DURATION = float(os.environ.get("BERTH_FLEET_SECONDS", "180"))
CLIENTS = int(os.environ.get("BERTH_FLEET_CLIENTS", "4"))
LAYERS = (3 * CHUNK + 1000, 20_000)  # four PATCHes, then one

ORPHANS = {
    "manifests in no repository": "SELECT count(*) FROM images_manifest m WHERE NOT EXISTS "
    "(SELECT 1 FROM images_repositorymanifest l WHERE l.manifest_id = m.id)",
    "tags on a manifest not linked to their repository": "SELECT count(*) FROM images_tag t WHERE NOT EXISTS "
    "(SELECT 1 FROM images_repositorymanifest l WHERE l.manifest_id = t.manifest_id "
    "AND l.repository_id = t.repository_id)",
    "layers without their blob": "SELECT count(*) FROM images_manifestlayer l WHERE NOT EXISTS "
    "(SELECT 1 FROM images_blob b WHERE b.digest = l.digest)",
    "repository blob links to no blob": "SELECT count(*) FROM images_repositoryblob r WHERE NOT EXISTS "
    "(SELECT 1 FROM images_blob b WHERE b.id = r.blob_id)",
}


@pytest.fixture
def fleet(private_cluster, rel_tmp):
    started = subprocess.run([str(REPO_ROOT / "scripts" / "swift.sh"), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"swift did not start:\n{started.stdout}\n{started.stderr}", pytrace=False)
    bucket = f"berth-fleet-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=bucket)
    first = FleetBerth(rel_tmp / "fleet-a", private_cluster.url, bucket)
    servers = [first] + [FleetBerth(rel_tmp / f"fleet-{x}", None, bucket, shared=first) for x in "bc"]
    nginx = None
    try:
        for server in servers:
            server.start()
        nginx = Nginx(rel_tmp / "nginx", [server.port for server in servers]).start()
    except StartError as exc:
        for server in reversed(servers):
            server.stop()
        if nginx:
            nginx.stop()
        pytest.fail(str(exc), pytrace=False)
    yield servers, nginx
    nginx.stop()
    for server in reversed(servers):
        server.stop()


def kill_and_restart(server, events):
    server.kill()
    events.append(f"{time.strftime('%H:%M:%S')} kill -9 :{server.port}")
    time.sleep(1)
    server.launch()
    events.append(f"{time.strftime('%H:%M:%S')} restarted :{server.port}")


def chaos(servers, cluster, stop, events):
    """kill -9 a random instance every 20-40 s (counted from the previous kill: a restart under load takes
    10-15 s of that) and restart it; restart PostgreSQL once, a third in."""
    began, restarted_db = time.monotonic(), False
    next_kill = began + random.uniform(20, 40)
    while not stop.wait(max(0.0, next_kill - time.monotonic())):
        next_kill = time.monotonic() + random.uniform(20, 40)
        kill_and_restart(random.choice(servers), events)
        if not restarted_db and time.monotonic() - began > DURATION / 3:
            cluster.stop("immediate")
            events.append(f"{time.strftime('%H:%M:%S')} PostgreSQL stopped")
            time.sleep(2)
            cluster.start()
            events.append(f"{time.strftime('%H:%M:%S')} PostgreSQL started")
            restarted_db = True
    return restarted_db


def test_a_chunked_upload_resumes_on_another_instance_when_its_instance_dies(fleet):
    servers, _ = fleet
    a, b, c = servers
    image = random_image("fleet/resumed", "v1", LAYERS)
    layer = image.layers[0]
    with requests.Session() as http:
        for data in (image.config, image.layers[1]):
            assert http.post(f"{a.url}/v2/{image.name}/blobs/uploads/?digest={sha256(data)}", data).status_code == 201
        response = http.post(f"{a.url}/v2/{image.name}/blobs/uploads/", timeout=TIMEOUT)
        location = response.headers["Location"]
        headers = {"Content-Range": f"0-{CHUNK - 1}", "Content-Type": "application/octet-stream"}
        assert http.patch(a.url + location, layer[:CHUNK], headers=headers, timeout=TIMEOUT).status_code == 202
        a.kill()
        try:
            assert http.get(b.url + location, timeout=TIMEOUT).headers["Range"] == f"0-{CHUNK - 1}"
            headers["Content-Range"] = f"{CHUNK}-{len(layer) - 1}"
            assert http.patch(b.url + location, layer[CHUNK:], headers=headers, timeout=TIMEOUT).status_code == 202
            response = http.put(c.url + location, params={"digest": sha256(layer)}, timeout=TIMEOUT)
            assert response.status_code == 201, response.text
            manifest = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
            url = f"{c.url}/v2/{image.name}/manifests/{image.tag}"
            assert http.put(url, image.manifest, headers=manifest).status_code == 201
        finally:
            a.launch()
    for server in servers:
        assert_pulls_identical(server.url, image)


def test_the_fleet_loses_nothing_under_kills_and_a_database_restart(fleet, private_cluster):
    servers, nginx = fleet
    tally, stop, events = Tally(), threading.Event(), []
    threads = [
        threading.Thread(target=pusher, args=(nginx.url, n, tally, stop, LAYERS), daemon=True) for n in range(CLIENTS)
    ] + [threading.Thread(target=puller, args=(nginx.url, tally, stop), daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    outcome = {}
    killer = threading.Thread(target=lambda: outcome.update(db=chaos(servers, private_cluster, stop, events)))
    killer.start()
    time.sleep(DURATION)
    stop.set()
    killer.join(120)
    for thread in threads:
        thread.join(120)
    for server in servers:
        if server.proc is None or server.proc.poll() is not None:
            server.launch()

    report = (
        f"\nfleet: {DURATION:.0f} s, {CLIENTS}+{CLIENTS} clients, {len(tally.acknowledged)} pushes acknowledged, "
        f"{tally.pulls} pulls verified, {tally.resumed_chunks} uploads resumed after a failed chunk\n"
        f"events: {events}\nretried client-visible errors: {dict(tally.retried)}\nother errors: {tally.other[:20]}"
    )
    print(report)
    assert outcome.get("db"), f"PostgreSQL was never restarted{report}"
    assert sum("kill -9" in event for event in events) >= DURATION // 40, report
    assert not tally.wrong_bytes, f"pulls returned wrong bytes: {tally.wrong_bytes[:10]}"
    assert not tally.other, report
    pushed_by = {image.name for image in tally.acknowledged}
    assert len(pushed_by) == CLIENTS, f"a client never got a push acknowledged{report}"
    assert tally.pulls > 0, report
    for image in tally.acknowledged:
        for server in servers:
            assert_pulls_identical(server.url, image)
    for server in servers:  # what a pull through the balancer sees, directly from each instance too
        pull_and_verify(server.url, tally.acknowledged[0], tally)
    assert not tally.wrong_bytes
    verify_blobs(servers[0])
    with psycopg2.connect(servers[0].database.url) as conn, conn.cursor() as cur:
        for what, query in ORPHANS.items():
            cur.execute(query)
            assert cur.fetchone()[0] == 0, what
    conn.close()
