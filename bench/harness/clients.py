"""The clients that drive the servers: skopeo, the docker engine, curl, wrk, plain HTTP."""

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


class ClientError(RuntimeError):
    pass


def run(cmd, timeout=1800, env=None):
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise ClientError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def run_parallel(cmds, timeout=1800, env=None):
    """Start every command at once; wall seconds until the last one ends."""
    started = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for cmd in cmds]
    outputs = []
    failures = []
    for cmd, proc in zip(cmds, procs, strict=True):
        out, err = proc.communicate(timeout=timeout)
        outputs.append(out)
        if proc.returncode != 0:
            failures.append(f"{' '.join(map(str, cmd))} -> {proc.returncode}: {err[-1500:]}")
    elapsed = time.perf_counter() - started
    if failures:
        raise ClientError("\n".join(failures))
    return elapsed, outputs


# --------------------------------------------------------------------------- skopeo


def skopeo_push(layout, host, repo, tag="latest"):
    cmd = [
        "skopeo",
        "copy",
        "--quiet",
        "--retry-times",
        "0",
        "--dest-tls-verify=false",
        layout.reference,
        f"docker://{host}/{repo}:{tag}",
    ]
    return run(cmd)[0]


def skopeo_pull_cmd(host, repo, dest, tag="latest"):
    return ["skopeo", "copy", "--quiet", "--retry-times", "0", "--src-tls-verify=false",
            f"docker://{host}/{repo}:{tag}", f"dir:{dest}"]  # fmt: skip


def skopeo_pull(host, repo, scratch, tag="latest", parallel=1):
    """Pull into fresh dir: destinations (nothing to reuse); wall seconds for all `parallel` pulls."""
    dests = [Path(tempfile.mkdtemp(prefix="pull-", dir=scratch)) for _ in range(parallel)]
    try:
        cmds = [skopeo_pull_cmd(host, repo, d, tag) for d in dests]
        return run(cmds[0])[0] if parallel == 1 else run_parallel(cmds)[0]
    finally:
        for d in dests:
            shutil.rmtree(d, ignore_errors=True)


def skopeo_local_copy(layout, scratch, parallel=1):
    """The client alone: skopeo copying the layout into fresh dir: folders, as a pull writes them, with
    no server in between; wall seconds for all `parallel` copies."""
    dests = [Path(tempfile.mkdtemp(prefix="alone-", dir=scratch)) for _ in range(parallel)]
    try:
        cmds = [["skopeo", "copy", "--quiet", layout.reference, f"dir:{d}"] for d in dests]
        return run(cmds[0])[0] if parallel == 1 else run_parallel(cmds)[0]
    finally:
        for d in dests:
            shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------- docker engine


class Docker:
    def __init__(self, host):
        self.host = host
        self.env = {**os.environ, "DOCKER_HOST": host}

    def __call__(self, *args, timeout=1800):
        return run(["docker", *args], timeout=timeout, env=self.env)

    def load(self, layout, ref):
        """Put an OCI layout into the engine (skopeo -> docker-daemon:); not timed."""
        run(["skopeo", "copy", "--quiet", "--dest-daemon-host", self.host, layout.reference, f"docker-daemon:{ref}"])

    def remove(self, *refs):
        existing = [r for r in refs if subprocess.run(
            ["docker", "image", "inspect", r], capture_output=True, env=self.env).returncode == 0]  # fmt: skip
        if existing:
            self("rmi", "--force", *existing)

    def holds(self, image_id):
        """Whether the engine has this image under any name (then pulling it moves nothing)."""
        inspect = ["docker", "image", "inspect", image_id]
        return subprocess.run(inspect, capture_output=True, env=self.env).returncode == 0

    def push(self, ref):
        return self("push", "--quiet", ref)[0]

    def pull(self, ref):
        return self("pull", "--quiet", ref)[0]


# --------------------------------------------------------------------------- curl (blob GETs)

_CURL_FORMAT = "%{http_code} %{size_download} %{time_total}"


def curl_cmd(url, byte_range=None):
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", _CURL_FORMAT]
    if byte_range:
        cmd += ["-r", f"{byte_range[0]}-{byte_range[1]}"]
    return cmd + [url]


def _check_curl(output, expect_status, expect_bytes):
    status, size, _ = output.split()
    if int(status) != expect_status or int(size) != expect_bytes:
        raise ClientError(f"curl got {status} with {size} bytes, expected {expect_status} with {expect_bytes}")


def blob_get(url, size, streams=1, ranged=False):
    """Wall seconds to GET the blob over `streams` connections: each whole blob, or one range each."""
    if ranged:
        step = -(-size // streams)
        ranges = [(i * step, min(size, (i + 1) * step) - 1) for i in range(streams)]
        cmds = [curl_cmd(url, r) for r in ranges]
        expected = [(206, r[1] - r[0] + 1) for r in ranges]
    else:
        cmds = [curl_cmd(url) for _ in range(streams)]
        expected = [(200, size)] * streams
    elapsed, outputs = run_parallel(cmds)
    for output, (status, nbytes) in zip(outputs, expected, strict=True):
        _check_curl(output, status, nbytes)
    return elapsed


# --------------------------------------------------------------------------- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def wrk(url, seconds, connections, threads, method="GET", headers=None, script_dir=None):
    """{"rps", "p50_ms", "p99_ms", "errors", "non2xx", "requests"} from one wrk run.

    wrk (4.1, Debian) cannot measure HEAD: it waits for a body of Content-Length bytes after
    a HEAD response. HEAD goes to `hey` instead (same connections, keep-alive, duration).
    """
    if method == "HEAD":
        return hey(url, seconds, connections, method, headers)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if method != "GET":
        script = Path(script_dir or tempfile.gettempdir()) / f"wrk-{method.lower()}.lua"
        script.write_text(f'wrk.method = "{method}"\n')
        cmd += ["-s", str(script)]
    _, out = run(cmd + [url], timeout=seconds + 120)
    result = {"rps": None, "p50_ms": None, "p99_ms": None, "errors": 0, "non2xx": 0, "requests": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        result["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        result["requests"] = int(m.group(1))
    for pct, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        m = re.search(rf"^\s+{re.escape(pct)}\s+(\S+)", out, re.M)
        if m:
            result[key] = _ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        result["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        result["errors"] = sum(int(x) for x in m.groups())
    if result["rps"] is None:
        raise ClientError(f"could not parse wrk output:\n{out}")
    return result


def hey(url, seconds, connections, method="GET", headers=None):
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(connections), "-m", method, "-t", "10"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    _, out = run(cmd + [url], timeout=seconds + 120)
    result = {"rps": None, "p50_ms": None, "p99_ms": None, "errors": 0, "non2xx": 0, "requests": 0, "tool": "hey"}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        result["rps"] = float(m.group(1))
    for pct, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        m = re.search(rf"{re.escape(pct)} in ([\d.]+) secs", out)
        if m:
            result[key] = float(m.group(1)) * 1000
    for status, count in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out):
        result["requests"] += int(count)
        if not status.startswith("2"):
            result["non2xx"] += int(count)
    errors = out.split("Error distribution:", 1)
    if len(errors) == 2:
        result["errors"] = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]", errors[1], re.M))
    if result["rps"] is None:
        raise ClientError(f"could not parse hey output:\n{out}")
    return result


def skopeo_inspect(host, repo, tag="latest"):
    """One small round trip through skopeo: what every skopeo/podman invocation pays before any transfer."""
    return run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{host}/{repo}:{tag}"])[0]


# --------------------------------------------------------------------------- registry API


def check(method, url, expect=200, headers=None):
    response = requests.request(method, url, headers=headers or {}, timeout=30)
    if response.status_code != expect:
        raise ClientError(f"{method} {url} -> {response.status_code} (expected {expect}): {response.text[:300]}")
    return response


def manifest(base, repo, ref):
    response = check("GET", f"{base}/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_ACCEPT})
    return response.headers["Docker-Content-Digest"], response.json()


def unlink_blobs(base, repo, ref="latest"):
    """DELETE every blob of the image from the repository, so no later push can mount them from here.

    skopeo (its blob-info cache) and docker remember where they saw a blob and try a cross-repository
    mount first: without this, repetition 2 would measure a mount, not a transfer.
    """
    _, body = manifest(base, repo, ref)
    digests = [layer["digest"] for layer in body.get("layers", [])]
    if body.get("config"):
        digests.append(body["config"]["digest"])
    for digest in digests:
        response = requests.delete(f"{base}/v2/{repo}/blobs/{digest}", timeout=60)
        if response.status_code not in (202, 404):
            raise ClientError(f"DELETE {repo}@{digest} -> {response.status_code}: {response.text[:300]}")
