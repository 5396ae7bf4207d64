"""HTTP registry client for the fault tests: chunked pushes that report failure instead of asserting.

Each thread uses its own requests.Session. Pushes raise PushFailed on any
refusal or dropped connection, so a client loop can count what was
acknowledged (manifest PUT 201) and what was not.
"""

import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from tests.e2e.ops_helpers import OCI_MANIFEST, TIMEOUT, PushFailed, sha256

CHUNK = 256 * 1024
LAYERS = (640 * 1024, 48 * 1024)  # three 256 KiB PATCHes, then one
RETRYABLE = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout)


@dataclass
class Image:
    """An image made of pseudo-random bytes from `seed`: regenerated on demand, so thousands cost no memory."""

    name: str
    tag: str
    seed: int
    layer_sizes: tuple[int, ...]
    acknowledged: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def config(self) -> bytes:
        return json.dumps({"architecture": "amd64", "os": "linux", "seed": self.seed}).encode()

    @property
    def layers(self) -> list[bytes]:
        rng = random.Random(self.seed)
        return [rng.randbytes(size) for size in self.layer_sizes]

    @property
    def blobs(self):
        return [self.config, *self.layers]

    @property
    def manifest(self) -> bytes:
        return manifest_bytes(self.config, self.layers)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def manifest_bytes(config: bytes, layers: list[bytes]) -> bytes:
    def descriptor(media_type, data):
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", data) for data in layers],
        }
    ).encode()


def random_image(name: str, tag: str, layer_sizes=(1024 * 1024,)) -> Image:
    return Image(name, tag, int.from_bytes(os.urandom(8)), tuple(layer_sizes))


def error_code(response: requests.Response):
    """The first error code of the spec's JSON envelope, or None."""
    try:
        return response.json()["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _check(response, expected, what):
    if response.status_code != expected:
        raise PushFailed(f"{what} -> {response.status_code} {response.text[:300]}")
    return response


def start_upload(session, base_url, name):
    response = _check(session.post(f"{base_url}/v2/{name}/blobs/uploads/", timeout=TIMEOUT), 202, "POST upload")
    return urljoin(base_url + "/", response.headers["Location"])


def patch_chunk(session, base_url, location, data, offset):
    headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(data) - 1}"}
    response = _check(session.patch(location, data=data, headers=headers, timeout=TIMEOUT), 202, "PATCH")
    return urljoin(base_url + "/", response.headers["Location"])


def finish_upload(session, base_url, location, digest):
    _check(session.put(location, params={"digest": digest}, timeout=TIMEOUT), 201, "PUT upload")


def push_blob(session, base_url, name, data, chunk=CHUNK):
    """POST, PATCH in `chunk`-sized pieces with Content-Range, PUT ?digest=."""
    location = start_upload(session, base_url, name)
    for offset in range(0, len(data), chunk):
        location = patch_chunk(session, base_url, location, data[offset : offset + chunk], offset)
    finish_upload(session, base_url, location, sha256(data))


def put_manifest(session, base_url, image: Image):
    url = f"{base_url}/v2/{image.name}/manifests/{image.tag}"
    headers = {"Content-Type": OCI_MANIFEST}
    _check(session.put(url, data=image.manifest, headers=headers, timeout=TIMEOUT), 201, "manifest PUT")


def push_image(session, base_url, image: Image, chunk=CHUNK):
    """Push every blob, then the manifest; `image.acknowledged` is set only on the manifest's 201."""
    try:
        for data in image.blobs:
            push_blob(session, base_url, image.name, data, chunk)
        put_manifest(session, base_url, image)
    except RETRYABLE as exc:
        raise PushFailed(f"connection: {exc.__class__.__name__}") from None
    image.acknowledged = True
    return image


def pull_manifest(base_url, name, reference, auth=None):
    return requests.get(
        f"{base_url}/v2/{name}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}, auth=auth, timeout=TIMEOUT
    )


def assert_pulls_identical(base_url, image: Image, reference=None, auth=None):
    """The manifest and every blob come back byte for byte."""
    response = pull_manifest(base_url, image.name, reference or image.tag, auth)
    assert response.status_code == 200, f"{image.name}:{image.tag} -> {response.status_code} {response.text[:300]}"
    assert response.content == image.manifest, f"{image.name}:{image.tag} manifest differs"
    for data in image.blobs:
        blob = requests.get(f"{base_url}/v2/{image.name}/blobs/{sha256(data)}", auth=auth, timeout=TIMEOUT)
        assert blob.status_code == 200, f"{image.name} blob {sha256(data)} -> {blob.status_code}"
        assert blob.content == data, f"{image.name} blob {sha256(data)} differs"


def assert_absent_or_complete(base_url, image: Image):
    """An unacknowledged push: no manifest, or a manifest whose blobs are all there and correct."""
    response = pull_manifest(base_url, image.name, image.digest)
    assert response.status_code in (200, 404), f"{image.name}@{image.digest} -> {response.status_code}"
    if response.status_code == 200:
        assert_pulls_identical(base_url, image, reference=image.digest)


class PushingClients:
    """Threads that push new images until stopped; every attempt is kept with its outcome."""

    def __init__(self, base_url, prefix, count, auth=None):
        self.base_url, self.prefix, self.auth = base_url, prefix, auth
        self.images = []
        self.responses = []
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]

    def _run(self, number):
        with requests.Session() as session:
            session.auth = self.auth
            session.hooks["response"].append(self._record)
            for attempt in range(10_000):
                if self.halt.is_set():
                    return
                image = random_image(f"{self.prefix}/client{number}", f"v{attempt}", LAYERS)
                self.images.append(image)
                try:
                    push_image(session, self.base_url, image)
                except PushFailed as exc:
                    image.errors.append(str(exc))
                    time.sleep(0.1)  # a client backing off while the server is down

    def _record(self, response, *args, **kwargs):
        self.responses.append((response.request.method, response.status_code, error_code(response)))

    def server_errors(self):
        """(method, status, error code) of every 5xx answer the clients got."""
        return [entry for entry in self.responses if entry[1] >= 500]

    def acknowledged(self):
        return [image for image in self.images if image.acknowledged]

    def failed(self):
        return [image for image in self.images if image.errors]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        for thread in self.threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in self.threads), "a pushing client hangs"

    def wait_for_more(self, count, timeout=60):
        """Wait until `count` more pushes are acknowledged than now."""
        target = len(self.acknowledged()) + count
        wait_until(lambda: len(self.acknowledged()) >= target, timeout, f"{count} more acknowledged pushes")


def wait_until(predicate, timeout, what, interval=0.1):
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def answers(url, status=200):
    """True when GET url answers `status` (any connection error is False)."""
    try:
        return requests.get(url, timeout=5).status_code == status
    except requests.RequestException:
        return False
