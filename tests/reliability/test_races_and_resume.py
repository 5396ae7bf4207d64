"""Concurrency and interrupted downloads on one gunicorn Berth (2 workers, PostgreSQL).

- Eight clients push the same image at once: every push is acknowledged, the
  registry holds one Blob row and one stored file per digest.
- Clients move one tag to different manifests at once: the tag ends on one of
  them and that image pulls whole.
- A download cut short resumes with `Range: bytes=N-`.
"""

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.ops_helpers import TIMEOUT, blob_file, sha256, shell
from tests.reliability.registry import assert_pulls_identical, pull_manifest, push_blob, push_image, random_image
from tests.reliability.services import start_server, verify_blobs

CLIENTS = 8


@pytest.fixture(scope="module")
def server(rel_tmp):
    berth = start_server(rel_tmp / "races")
    yield berth
    berth.stop()


def run_together(count, work):
    """Run work(i) in `count` threads released at the same moment; return their results (errors raise)."""
    barrier = threading.Barrier(count)

    def task(i):
        barrier.wait(timeout=30)
        with requests.Session() as session:
            return work(session, i)

    with ThreadPoolExecutor(count) as pool:
        return [future.result(timeout=300) for future in [pool.submit(task, i) for i in range(count)]]


def blob_rows(server, digests):
    code = (
        f"from images.models import Blob\nfor d in {sorted(digests)!r}: print(d, Blob.objects.filter(digest=d).count())"
    )
    return dict(line.split() for line in shell(server, code).split("\n") if line)


def stored_files(server, digest):
    folder = blob_file(server, digest).parent
    return [path for path in folder.iterdir() if path.name.startswith(digest.split(":")[1])]


def test_identical_pushes_from_eight_clients_converge(server):
    image = random_image("race/same", "v1", layer_sizes=(3 * 1024 * 1024, 1024 * 1024))
    pushed = run_together(CLIENTS, lambda session, _: push_image(session, server.url, image).acknowledged)
    assert pushed == [True] * CLIENTS
    assert_pulls_identical(server.url, image)
    digests = {sha256(data) for data in image.blobs}
    assert blob_rows(server, digests) == {digest: "1" for digest in digests}
    for digest in digests:
        assert [path.name for path in stored_files(server, digest)] == [digest.split(":")[1]]
    verify_blobs(server)


def test_racing_tag_moves_end_on_a_pushed_manifest(server):
    images = [random_image("race/tag", "latest", layer_sizes=(256 * 1024,)) for _ in range(CLIENTS)]
    with requests.Session() as session:
        for image in images:  # the blobs first; the race is on the tag
            for data in image.blobs:
                push_blob(session, server.url, image.name, data)

    def move_tag(session, i):
        return session.put(
            f"{server.url}/v2/race/tag/manifests/latest",
            data=images[i].manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
            timeout=TIMEOUT,
        ).status_code

    assert run_together(CLIENTS, move_tag) == [201] * CLIENTS
    final = pull_manifest(server.url, "race/tag", "latest")
    assert final.status_code == 200
    winner = [image for image in images if image.digest == final.headers["Docker-Content-Digest"]]
    assert len(winner) == 1, "the tag points at a manifest nobody pushed"
    assert_pulls_identical(server.url, winner[0])
    for image in images:  # the losers stay pullable by digest
        assert_pulls_identical(server.url, image, reference=image.digest)


def test_interrupted_download_resumes_with_range(server):
    data = os.urandom(24 * 1024 * 1024 + 5)
    digest = sha256(data)
    with requests.Session() as session:
        push_blob(session, server.url, "resume/big", data, chunk=8 * 1024 * 1024)
    url = f"{server.url}/v2/resume/big/blobs/{digest}"
    with requests.get(url, stream=True, timeout=TIMEOUT) as first:
        assert first.status_code == 200
        received = first.raw.read(5 * 1024 * 1024 + 123)
    # The connection is dropped with most of the blob unread; resume from what arrived.
    start = len(received)
    rest = requests.get(url, headers={"Range": f"bytes={start}-"}, timeout=TIMEOUT)
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
    assert int(rest.headers["Content-Length"]) == len(data) - start
    assert "sha256:" + hashlib.sha256(received + rest.content).hexdigest() == digest
