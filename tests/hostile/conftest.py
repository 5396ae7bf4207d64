"""Fixtures for the hostile-input suite: a seeded registry, a jailed storage root, error checks.

Every test here runs with its storage root buried a few folders deep under a
private temporary folder that also holds sentinel files. After the test, the
whole folder outside the storage root must be exactly as it was (no file
created, changed or removed), and inside the storage root only the layout of
storage_backends/paths.py may exist.
"""

import json
import os

import pytest
import requests
from django.test import Client

from images.digests import of_bytes
from images.manifest_formats import OCI_MANIFEST
from tests.e2e.servers import WORKERS, BerthServer, StartError, run_worker, tail
from tests.v1.conftest import DOCKER_UA, make_image
from tests.v2.conftest import Registry

STORAGE_TOP_LEVEL = {"blobs", "uploads", "quarantine"}
SENTINEL = b"berth hostile-input sentinel\n"
REPOSITORY = "team/app"
CREATED = "2015-01-02T03:04:05Z"


@pytest.fixture(autouse=True)
def registry_storage(settings, tmp_path):
    """Overrides tests/conftest.py: storage at <tmp>/jail/a/b/c/registry-storage, sentinels around it."""
    location = tmp_path / "jail" / "a" / "b" / "c" / "registry-storage"
    location.mkdir(parents=True)
    plant_sentinels(tmp_path, tmp_path / "jail", location.parent)
    settings.STORAGES = {
        **settings.STORAGES,
        "registry": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    before = snapshot(tmp_path, skip={location})
    yield location
    assert snapshot(tmp_path, skip={location}) == before, "a file outside the storage root was touched"
    assert _top_level(location) <= STORAGE_TOP_LEVEL, f"unexpected objects in the storage root: {_top_level(location)}"


def plant_sentinels(*folders):
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sentinel.txt").write_bytes(SENTINEL)
        (folder / "passwd").write_bytes(SENTINEL)


def snapshot(root, skip):
    """{relative path: (size, mtime_ns, content)} of everything under root but the paths in `skip`."""
    skip = {str(path) for path in skip}
    seen = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in dirs + [f for f in files if os.path.join(folder, f) not in skip]:
            path = os.path.join(folder, name)
            if name in dirs:
                seen[os.path.relpath(path, root)] = "folder"  # its mtime moves when a skipped file is written
                continue
            stat = os.lstat(path)
            content = open(path, "rb").read()  # noqa: SIM115 - tiny sentinel files
            seen[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns, content)
    return seen


def _top_level(location):
    return {entry.name for entry in location.iterdir()}


@pytest.fixture
def lenient():
    """A client that returns 500 answers instead of raising the server's exception."""
    return Client(raise_request_exception=False, HTTP_USER_AGENT=DOCKER_UA)


@pytest.fixture
def seeded_v2(db, client):
    """team/app with one OCI image tagged `latest` (what a client remembers about it)."""
    return Registry(client).push_image(REPOSITORY)


@pytest.fixture
def seeded_v1(db, client):
    """A complete two-image v1 chain tagged library/v1app:latest; returns the chain."""
    base = make_image("hostile-base", None, {"etc/os-release": b"NAME=hostile\n"}, "ADD rootfs /", CREATED)
    top = make_image("hostile-top", base, {"etc/app.conf": b"x = 1\n"}, "echo x", CREATED)
    for image in (base, top):
        _push_v1(client, image)
    tag = client.put("/v1/repositories/library/v1app/tags/latest", json.dumps(top.id), "application/json")
    assert tag.status_code == 200, tag.content
    return [base, top]


def _push_v1(client, image):
    url = f"/v1/images/{image.id}"
    assert client.put(f"{url}/json", image.json, "application/json").status_code == 200
    assert client.put(f"{url}/layer", image.layer, "application/octet-stream").status_code == 200
    response = client.put(f"{url}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=image.payload_checksum)
    assert response.status_code == 200, response.content


# --- gunicorn, the production server (either worker), for the same corpus over real sockets --------------------


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """One gunicorn per module (tests/e2e/servers.py) with the shipped default worker (or BERTH_E2E_WORKER's),
    seeded: {"kind", "worker", "address", "url", placeholder values}."""
    yield from _berth_process("gunicorn", tmp_path_factory)


def _worker_process(worker, request, tmp_path_factory):
    """gunicorn with `worker` per module: the `gunicorn` one when that is the worker it runs."""
    if worker == run_worker():
        yield request.getfixturevalue("gunicorn")
    else:
        yield from _berth_process(worker, tmp_path_factory)


@pytest.fixture(scope="module")
def asgi(request, tmp_path_factory):
    """gunicorn with BERTH_WORKER=asgi (registry_site/server/asgi_worker.py) per module, seeded like `gunicorn`."""
    yield from _worker_process("asgi", request, tmp_path_factory)


@pytest.fixture(scope="module")
def gthread(request, tmp_path_factory):
    """gunicorn with BERTH_WORKER=gthread (registry_site/server/workers.py) per module, seeded like `gunicorn`."""
    yield from _worker_process("gthread", request, tmp_path_factory)


@pytest.fixture(scope="module", params=WORKERS)
def production(request):
    """gunicorn with either worker: the shipped asgi one and BERTH_WORKER=gthread."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def runserver(tmp_path_factory):
    """`manage.py runserver` (Berth's chunk-aware one) per module, seeded like `gunicorn`."""
    yield from _berth_process("runserver", tmp_path_factory)


def _berth_process(kind, tmp_path_factory):
    """Start a real Berth process with sentinels around its storage root; afterwards, check nothing
    outside that root changed."""
    root = tmp_path_factory.mktemp(f"{kind}-jail")
    workdir = root / "a" / "b" / "srv"
    plant_sentinels(root, root / "a", root / "a" / "b", workdir)
    server = BerthServer(kind, workdir, os.environ.get("DATABASE_URL"))
    database = workdir / "berth-e2e.sqlite3"  # with SQLite's journal files (write-ahead log, shared memory)
    owned = {
        server.storage,
        server.log,
        workdir / "data",
        database,
        *(database.with_name(database.name + s) for s in ("-wal", "-shm")),
    }
    before = snapshot(root, skip=owned)
    try:
        server.start()
    except StartError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        where = {
            "kind": kind,
            "worker": server.gunicorn_worker,
            "address": ("127.0.0.1", server.port),
            "url": server.url,
        }
        yield {**where, **seed_over_http(server.url)}
        assert server.proc.poll() is None, f"{kind} died:\n{tail(server.log)}"
    finally:
        server.stop()
    assert snapshot(root, skip=owned) == before, "a file outside the storage root was touched"
    assert _top_level(server.storage) <= STORAGE_TOP_LEVEL


def seed_over_http(url):
    """What `seeded_v2` and `seeded_v1` push, pushed over HTTP: team/app:latest and library/v1app:latest."""
    with requests.Session() as http:
        http.headers["User-Agent"] = DOCKER_UA
        blobs = [_post_blob(http, url, data) for data in (b'{"architecture":"amd64","os":"linux"}', b"layer")]
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": blobs[0][0],
                    "size": blobs[0][1],
                },  # fmt: skip
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blobs[1][0], "size": blobs[1][1]}
                ],  # fmt: skip
            }
        ).encode()
        response = http.put(f"{url}/v2/team/app/manifests/latest", manifest, headers={"Content-Type": OCI_MANIFEST})
        assert response.status_code == 201, response.text
        top = _push_v1_over_http(http, url)
    return {"blob": blobs[1][0], "manifest": response.headers["Docker-Content-Digest"], "image": top}


def _post_blob(http, url, data):
    digest = of_bytes(data)
    response = http.post(f"{url}/v2/team/app/blobs/uploads/?digest={digest}", data)
    assert response.status_code == 201, response.text
    return digest, len(data)


def _push_v1_over_http(http, url):
    base = make_image("hostile-base", None, {"etc/os-release": b"NAME=hostile\n"}, "ADD rootfs /", CREATED)
    top = make_image("hostile-top", base, {"etc/app.conf": b"x = 1\n"}, "echo x", CREATED)
    for image in (base, top):
        images = f"{url}/v1/images/{image.id}"
        assert http.put(f"{images}/json", image.json).status_code == 200
        assert http.put(f"{images}/layer", image.layer).status_code == 200
        checksum = {"X-Docker-Checksum-Payload": image.payload_checksum}
        assert http.put(f"{images}/checksum", headers=checksum).status_code == 200
    assert http.put(f"{url}/v1/repositories/library/v1app/tags/latest", json.dumps(top.id)).status_code == 200
    return top.id
