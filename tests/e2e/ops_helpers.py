"""Helpers for the operations e2e tests: manage.py against a running Berth, tolerant HTTP pushes, full pulls."""

import json
import os
import subprocess
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.servers import REPO_ROOT, BerthServer, StartError, venv_bin
from tests.support.registry import sha256

TIMEOUT = 60
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join(
    [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json"]
)


class OpenBerthServer(BerthServer):
    """Berth under gunicorn (or runserver) with its own database and storage, as an open registry (REGISTRY_AUTH=none):
    the operations tests are about storage, not about who may push."""

    extra_env = {"REGISTRY_AUTH": "none"}

    def env(self):
        return {**super().env(), **self.extra_env}


def started_or_fail(server):
    """`server.start()`; if it can't start, clean up and fail the test with its log (never skip)."""
    try:
        return server.start()
    except StartError as exc:
        error = str(exc)
    server.stop()
    pytest.fail(error, pytrace=False)


def start_open_server(workdir, kind="gunicorn", **extra_env):
    """An OpenBerthServer of `kind` (BerthServer's: "gunicorn" runs the shipped default worker), started."""
    server = OpenBerthServer(kind, workdir, os.environ.get("DATABASE_URL"))
    server.extra_env = {**OpenBerthServer.extra_env, **extra_env}
    return started_or_fail(server)


def manage(server, *args, timeout=300, check=True, extra_env=None):
    """`manage.py ARGS` against the server's database and storage (BerthServer.env())."""
    env = {**server.env(), **(extra_env or {})}
    result = subprocess.run(
        [venv_bin("python"), "manage.py", *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def shell(server, code, timeout=120):
    """Run Python in `manage.py shell -c` against the server; returns its stdout."""
    return manage(server, "shell", "--no-imports", "-c", code, timeout=timeout).stdout


class PushFailed(Exception):
    pass


def try_push_blob(session, base_url, name, data):
    """POST, PATCH, PUT ?digest= like docker; raises PushFailed on any refusal (the caller retries)."""
    digest = sha256(data)
    start = session.post(f"{base_url}/v2/{name}/blobs/uploads/", timeout=TIMEOUT)
    if start.status_code != 202:
        raise PushFailed(f"POST {start.status_code} {start.text[:200]}")
    location = urljoin(base_url + "/", start.headers["Location"])
    patch = session.patch(
        location,
        data=data,
        headers={"Content-Type": "application/octet-stream", "Content-Range": f"0-{len(data) - 1}"},
        timeout=TIMEOUT,
    )
    if patch.status_code != 202:
        raise PushFailed(f"PATCH {patch.status_code} {patch.text[:200]}")
    put = session.put(urljoin(base_url + "/", patch.headers["Location"]), params={"digest": digest}, timeout=TIMEOUT)
    if put.status_code != 201:
        raise PushFailed(f"PUT {put.status_code} {put.text[:200]}")
    return digest


def try_push_image(session, base_url, name, tag, config, layers):
    """Blobs that the registry lacks (HEAD first, as clients do), then the manifest; returns its digest."""
    for data in (config, *layers):
        head = session.head(f"{base_url}/v2/{name}/blobs/{sha256(data)}", timeout=TIMEOUT)
        if head.status_code != 200:
            try_push_blob(session, base_url, name, data)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(d), "size": len(d)}
                for d in layers
            ],
        }
    ).encode()
    put = session.put(
        f"{base_url}/v2/{name}/manifests/{tag}", data=body, headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT
    )
    if put.status_code != 201:
        raise PushFailed(f"manifest PUT {put.status_code} {put.text[:300]}")
    return sha256(body)


def pull_everything(base_url, name, reference):
    """GET the manifest and every blob it reaches, checking each digest; returns the manifest digest."""
    response = requests.get(f"{base_url}/v2/{name}/manifests/{reference}", headers={"Accept": ACCEPT}, timeout=TIMEOUT)
    assert response.status_code == 200, f"{name}:{reference} -> {response.status_code} {response.text[:300]}"
    digest = response.headers["Docker-Content-Digest"]
    assert sha256(response.content) == digest
    body = response.json()
    for child in body.get("manifests", []):
        pull_everything(base_url, name, child["digest"])
    for d in [body["config"], *body.get("layers", [])] if "config" in body else body.get("layers", []):
        blob = requests.get(f"{base_url}/v2/{name}/blobs/{d['digest']}", timeout=TIMEOUT)
        assert blob.status_code == 200, f"{name}:{reference} blob {d['digest']} -> {blob.status_code}"
        assert sha256(blob.content) == d["digest"], f"{name}:{reference} blob {d['digest']} corrupt"
        assert len(blob.content) == d["size"]
    return digest


def all_tags(base_url):
    """{repository: [tags]} of the whole registry."""
    out = {}
    repos = requests.get(f"{base_url}/v2/_catalog", params={"n": 10000}, timeout=TIMEOUT).json()["repositories"]
    for repo in repos:
        listing = requests.get(f"{base_url}/v2/{repo}/tags/list", params={"n": 10000}, timeout=TIMEOUT)
        if listing.status_code == 200:
            out[repo] = listing.json().get("tags") or []
    return out


def blob_file(server, digest):
    algorithm, hexpart = digest.split(":", 1)
    return server.storage / "blobs" / algorithm / hexpart[:2] / hexpart


def env_without_proxy():
    return {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}


def build_image(docker, workdir, ref, label):
    """A two-layer image built offline (FROM scratch + COPY, the classic builder); returns (id, {path: bytes})."""
    context = workdir / f"ctx-{label}"
    (context / "opt").mkdir(parents=True)
    files = {
        "etc/berth-label": f"{label}\n".encode(),
        "opt/payload.bin": os.urandom(64 * 1024),
    }
    for name, data in files.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(data)
    (context / "Dockerfile").write_text(
        "FROM scratch\nCOPY etc/berth-label /etc/berth-label\nCOPY opt/payload.bin /opt/payload.bin\n"
        'CMD ["/bin/true"]\n'
    )
    env = {**docker.env, "DOCKER_BUILDKIT": "0"}
    result = subprocess.run(
        ["docker", "build", "-q", "-t", ref, str(context)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return docker.image_id(ref), files


def image_files(docker, workdir, ref, names):
    """The files of an image, read back through `docker create` + `docker export`."""
    import tarfile

    container = docker("create", ref, "/bin/true").stdout.strip()
    try:
        out = workdir / f"fs-{container[:12]}.tar"
        docker("export", "-o", str(out), container)
    finally:
        docker("rm", container)
    with tarfile.open(out) as tar:
        return {name: tar.extractfile(name).read() for name in names}


class EventReceiver:
    """A webhook endpoint: an http.server on 127.0.0.1 that records every POST (headers, JSON body)."""

    def __init__(self):
        import http.server
        import threading

        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/registry-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        with self.lock:
            return [event for _, body in self.requests for event in body["events"]]

    def wait_for(self, predicate, timeout=60, poke=None):
        """The first event matching `predicate`; `poke()` is called between polls (e.g. to pull again)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if predicate(event):
                    return event
            if poke is not None:
                poke()
            time.sleep(0.5)
        raise AssertionError(f"no matching event within {timeout}s; got {self.events()}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
