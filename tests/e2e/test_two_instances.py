"""Two gunicorn Berths on one PostgreSQL database and one storage folder: a change made through one is
seen by the very next request to the other. Each process keeps the hot reads' rows (images/services/
read_cache.py) and bodies (manifest_bodies.py); PostgreSQL's notices tell every process of a change."""

import hashlib
import json
import os

import pytest
import requests

from tests.e2e.ops_helpers import started_or_fail
from tests.e2e.servers import BerthServer, free_port, stop_process

pytestmark = pytest.mark.e2e
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = {"Accept": OCI_MANIFEST}


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Second(BerthServer):
    """A gunicorn Berth on another instance's database and storage (it neither migrates nor drops them)."""

    def __init__(self, workdir, first):
        super().__init__("gunicorn", workdir, None)
        self.database, self.storage = first.database, first.storage

    def start(self, ready_timeout=60):
        self.port = free_port()
        return self.launch(ready_timeout)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@pytest.fixture
def pair(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.fail("two instances share a PostgreSQL database: set DATABASE_URL to a PostgreSQL server")
    first = started_or_fail(BerthServer("gunicorn", tmp_path / "first", url))
    second = None
    try:
        second = started_or_fail(_Second(tmp_path / "second", first))
        yield first, second
    finally:
        if second is not None:
            second.stop()
        first.stop()


def _push_image(url, repo, tag, label):
    blobs = [json.dumps({"architecture": "amd64", "os": "linux", "label": label}).encode(), label.encode() * 100]
    for data in blobs:
        r = requests.post(f"{url}/v2/{repo}/blobs/uploads/?digest={_digest(data)}", data=data, timeout=30)
        assert r.status_code == 201, r.text
    config, layer = blobs
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config), "size": 1},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _digest(layer), "size": 1}],
        }
    ).encode()
    r = requests.put(f"{url}/v2/{repo}/manifests/{tag}", data=body, headers={"Content-Type": OCI_MANIFEST}, timeout=30)
    assert r.status_code == 201, r.text
    return body


def _reads(url, path, times=12):
    """`times` GETs, each on a new connection (so each gunicorn worker of the instance answers some)."""
    return [requests.get(f"{url}{path}", headers=ACCEPT, timeout=30) for _ in range(times)]


def test_a_moved_tag_and_a_deleted_manifest_are_seen_by_the_other_instance_at_once(pair):
    first, second = pair
    repo = "shared/app"
    old = _push_image(first.url, repo, "latest", "one")
    # the second instance's workers read (and cache) the first manifest, by tag and by digest
    assert {r.content for r in _reads(second.url, f"/v2/{repo}/manifests/latest")} == {old}
    assert {r.status_code for r in _reads(second.url, f"/v2/{repo}/manifests/{_digest(old)}")} == {200}

    new = _push_image(first.url, repo, "latest", "two")  # the tag moves, through the first instance
    answers = _reads(second.url, f"/v2/{repo}/manifests/latest")
    assert {r.content for r in answers} == {new}
    assert {r.headers["Docker-Content-Digest"] for r in answers} == {_digest(new)}

    r = requests.delete(f"{first.url}/v2/{repo}/manifests/{_digest(old)}", timeout=30)
    assert r.status_code == 202, r.text
    gone = _reads(second.url, f"/v2/{repo}/manifests/{_digest(old)}")
    assert {r.status_code for r in gone} == {404}
    assert {r.json()["errors"][0]["code"] for r in gone} == {"MANIFEST_UNKNOWN"}
    heads = [requests.head(f"{second.url}/v2/{repo}/manifests/{_digest(old)}", timeout=30) for _ in range(6)]
    assert {r.status_code for r in heads} == {404}

    r = requests.delete(f"{first.url}/v2/{repo}/manifests/{_digest(new)}", timeout=30)
    assert r.status_code == 202, r.text
    assert {r.status_code for r in _reads(second.url, f"/v2/{repo}/manifests/latest")} == {404}
    assert requests.get(f"{second.url}/v2/{repo}/tags/list", timeout=30).json()["tags"] in ([], None)


def test_a_tag_moved_again_and_again_is_seen_by_the_next_read_of_the_other_instance(pair):
    first, second = pair
    repo = "shared/moving"
    bodies = [_push_image(first.url, repo, "latest", label) for label in ("one", "two")]
    for round_ in range(40):  # each round: the other instance caches the tag, it moves here, the next read there
        body = bodies[round_ % 2]
        before = requests.get(f"{second.url}/v2/{repo}/manifests/latest", headers=ACCEPT, timeout=30)
        assert before.status_code == 200
        r = requests.put(
            f"{first.url}/v2/{repo}/manifests/latest", data=body, headers={"Content-Type": OCI_MANIFEST}, timeout=30
        )
        assert r.status_code == 201, r.text
        after = requests.get(f"{second.url}/v2/{repo}/manifests/latest", headers=ACCEPT, timeout=30)
        assert (round_, after.headers["Docker-Content-Digest"]) == (round_, _digest(body))

    assert requests.get(f"{second.url}/v2/_catalog", timeout=30).json()["repositories"] == [repo]
    _push_image(first.url, "other/app", "v1", "three")
    assert requests.get(f"{second.url}/v2/_catalog", timeout=30).json()["repositories"] == ["other/app", repo]
    assert requests.get(f"{second.url}/v2/other/app/tags/list", timeout=30).json()["tags"] == ["v1"]


def test_on_sqlite_every_worker_sees_a_moved_tag_at_once(tmp_path):
    """One instance on SQLite, its two worker processes each keeping rows (the change count tells them)."""
    server = started_or_fail(BerthServer("gunicorn", tmp_path / "sqlite", None))
    try:
        repo = "local/moving"
        bodies = [_push_image(server.url, repo, "latest", label) for label in ("one", "two")]
        for round_ in range(12):
            body = bodies[round_ % 2]
            assert {r.status_code for r in _reads(server.url, f"/v2/{repo}/manifests/latest", times=4)} == {200}
            r = requests.put(
                f"{server.url}/v2/{repo}/manifests/latest",
                data=body,
                headers={"Content-Type": OCI_MANIFEST},
                timeout=30,
            )
            assert r.status_code == 201, r.text
            answers = _reads(server.url, f"/v2/{repo}/manifests/latest", times=4)
            assert {r.headers["Docker-Content-Digest"] for r in answers} == {_digest(body)}
        r = requests.delete(f"{server.url}/v2/{repo}/manifests/{_digest(bodies[0])}", timeout=30)
        assert r.status_code == 202, r.text
        assert {r.status_code for r in _reads(server.url, f"/v2/{repo}/manifests/{_digest(bodies[0])}")} == {404}
    finally:
        server.stop()
