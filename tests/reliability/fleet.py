"""The fleet of test_fleet.py: three gunicorn Berths on one PostgreSQL and one S3 bucket, behind nginx
(deploy/nginx.conf's upstream block and retry rules), and clients that retry as registry clients do."""

import random
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

import requests

from tests.e2e.ops_helpers import TIMEOUT, PushFailed, sha256
from tests.e2e.servers import StartError, free_port, spawn, stop_process, tail, wait_ready
from tests.e2e.test_shared_storage import S3Berth
from tests.reliability.registry import CHUNK, RETRYABLE, random_image

REPO_ROOT = Path(__file__).resolve().parents[2]
RETRY_STATUSES = (502, 503, 504)  # nginx says 502/504 when an instance died under a request


class FleetBerth(S3Berth):
    """An instance of the fleet: its own metrics folder (a master killed with -9 leaves its own behind)."""

    def env(self):
        return {**super().env(), "REGISTRY_AUTH": "none", "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "metrics")}


NGINX_CONF = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
{upstream_and_server}
}}
"""


def nginx_http_block(ports, listen):
    """The upstream and server blocks of deploy/nginx.conf, aimed at these ports, on plain HTTP."""
    shipped = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    body = shipped[shipped.index("limit_conn_zone") :]
    start, end = body.index("upstream berth {"), body.index("}", body.index("upstream berth {"))
    shipped_server = next(line for line in body[start:end].splitlines() if line.strip().startswith("server "))
    servers = "".join(shipped_server.replace("127.0.0.1:5000", f"127.0.0.1:{port}") + "\n" for port in ports)
    upstream = body[start:end]
    body = body[:start] + "upstream berth {\n" + servers + upstream[upstream.index("    keepalive") :] + body[end:]
    body = body.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
    body = "\n".join(line for line in body.splitlines() if "ssl_certificate" not in line)
    return body


class Nginx:
    def __init__(self, workdir, ports):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o777)
        self.port = free_port()
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(dir=self.dir, upstream_and_server=nginx_http_block(ports, self.port)))
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        check = subprocess.run(
            ["nginx", "-t", "-p", str(self.dir), "-c", str(self.conf)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise StartError(f"nginx -t failed:\n{check.stderr}")
        cmd = ["nginx", "-p", str(self.dir), "-c", str(self.conf), "-g", "daemon off;"]
        self.proc = spawn(cmd, self.dir / "nginx.out", cwd=self.dir)

        def ready():
            try:
                return requests.get(f"{self.url}/v2/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_ready(self.proc, ready, "nginx", self.dir / "error.log", 30)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def log(self):
        return tail(self.dir / "error.log", 4000)


class Tally:
    """What clients saw: retried errors by kind, and anything that is not allowed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.retried = Counter()
        self.wrong_bytes = []
        self.other = []  # errors that are neither a reset nor a 502/503/504
        self.acknowledged = []
        self.pulls = 0
        self.resumed_chunks = 0

    def note(self, kind):
        with self.lock:
            self.retried[kind] += 1


def _retrying(tally, what, call, attempts=40):
    """call() until it answers something else than a reset or a 502/503/504 (each counted)."""
    for _ in range(attempts):
        try:
            response = call()
        except RETRYABLE as exc:
            tally.note(f"{what}: {exc.__class__.__name__}")
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            tally.note(f"{what}: {response.status_code}")
        time.sleep(0.3 + random.random() * 0.5)
    with tally.lock:
        tally.other.append(f"{what}: still failing after {attempts} attempts")
    raise PushFailed(f"{what}: no answer after {attempts} attempts")


def _expect(tally, response, statuses, what):
    if response.status_code not in statuses:
        with tally.lock:
            tally.other.append(f"{what} -> {response.status_code} {response.text[:200]}")
        raise PushFailed(what)
    return response


def push_blob(session, base, name, data, tally):
    """A chunked upload that resumes where the registry says it is after any failure."""
    digest = sha256(data)
    response = _retrying(tally, "POST", lambda: session.post(f"{base}/v2/{name}/blobs/uploads/", timeout=TIMEOUT))
    location = urljoin(base + "/", _expect(tally, response, (202,), "POST").headers["Location"])
    offset = 0
    while offset < len(data):
        chunk = data[offset : offset + CHUNK]
        headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}
        try:
            response = session.patch(location, data=chunk, headers=headers, timeout=TIMEOUT)
        except RETRYABLE as exc:
            tally.note(f"PATCH: {exc.__class__.__name__}")
            response = None
        if response is not None and response.status_code == 202:
            location, offset = urljoin(base + "/", response.headers["Location"]), offset + len(chunk)
            continue
        if response is not None and response.status_code not in RETRY_STATUSES + (416,):
            _expect(tally, response, (202,), "PATCH")
        if response is not None and response.status_code != 416:
            tally.note(f"PATCH: {response.status_code}")
        time.sleep(0.3)
        status = _retrying(tally, "GET upload", lambda at=location: session.get(at, timeout=TIMEOUT))
        end = int(_expect(tally, status, (204,), "GET upload").headers["Range"].split("-")[1])
        offset = 0 if end == 0 else end + 1  # chunks are CHUNK bytes: "0-0" is an empty session
        with tally.lock:
            tally.resumed_chunks += 1
    response = _retrying(tally, "PUT", lambda: session.put(location, params={"digest": digest}, timeout=TIMEOUT))
    if response.status_code == 404:  # a retried PUT whose first attempt had committed: the blob is there
        response = _retrying(tally, "HEAD", lambda: session.head(f"{base}/v2/{name}/blobs/{digest}", timeout=TIMEOUT))
    _expect(tally, response, (200, 201), "PUT upload")


def push(base, image, tally):
    with requests.Session() as session:
        for data in image.blobs:
            push_blob(session, base, image.name, data, tally)
        url = f"{base}/v2/{image.name}/manifests/{image.tag}"
        headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        response = _retrying(tally, "manifest PUT", lambda: session.put(url, data=image.manifest, headers=headers))
        _expect(tally, response, (201,), "manifest PUT")
    image.acknowledged = True
    with tally.lock:
        tally.acknowledged.append(image)


def pull_and_verify(base, image, tally):
    with requests.Session() as session:
        url = f"{base}/v2/{image.name}/manifests/{image.tag}"
        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        response = _retrying(tally, "manifest GET", lambda: session.get(url, headers=accept, timeout=TIMEOUT))
        _expect(tally, response, (200,), "manifest GET")
        got = {"manifest": response.content}
        for data in image.blobs:
            blob_url = f"{base}/v2/{image.name}/blobs/{sha256(data)}"
            response = _retrying(tally, "blob GET", lambda u=blob_url: session.get(u, timeout=TIMEOUT))
            got[sha256(data)] = _expect(tally, response, (200,), "blob GET").content
    expected = {"manifest": image.manifest, **{sha256(data): data for data in image.blobs}}
    with tally.lock:
        tally.pulls += 1
        tally.wrong_bytes.extend(f"{image.name} {key}" for key in expected if got[key] != expected[key])


def pusher(base, number, tally, stop, layer_sizes):
    count = 0
    while not stop.is_set():
        image = random_image(f"fleet/client-{number}", f"t{count}", layer_sizes)
        try:
            push(base, image, tally)
        except (PushFailed, *RETRYABLE):
            pass  # counted in tally.other (or retries exhausted): the push was not acknowledged
        count += 1


def puller(base, tally, stop):
    while not stop.is_set():
        with tally.lock:
            choices = list(tally.acknowledged)
        if not choices:
            time.sleep(0.2)
            continue
        try:
            pull_and_verify(base, random.choice(choices), tally)
        except (PushFailed, *RETRYABLE):
            pass
