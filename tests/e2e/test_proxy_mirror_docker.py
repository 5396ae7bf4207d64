"""A REAL Docker engine with `--registry-mirror` pointing at Berth pulls Docker-Hub-style names
(`alpine`, `library/alpine:3`, `someorg/tool:1`) through Berth's transparent mirror, whose
MIRROR_SOURCE is a real upstream (Debian's docker-registry, standing in for Docker Hub).

The engine is our own dockerd (the shared one has no mirror configured), stopped by its pid. It
gets an unreachable HTTPS proxy for everything but 127.0.0.1, so a failing mirror could never make
it reach the real Docker Hub: the test would fail instead.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import Docker
from tests.e2e.ops_helpers import start_open_server
from tests.e2e.servers import StartError, docker_reachable, spawn, stop_process, tail, unmount_under, wait_ready
from tests.support.seed import seed_image
from tests.support.upstreams import start_distribution

HUB_IMAGES = (("library/alpine", "latest"), ("library/alpine", "3"), ("someorg/tool", "1"))


class MirrorDockerd:
    def __init__(self, mirror_url):
        self.mirror_url = mirror_url
        self.dir = Path(tempfile.mkdtemp(prefix="berth-mir-", dir="/tmp"))  # short: unix socket paths
        self.host = f"unix://{self.dir}/d.sock"
        self.log = self.dir / "dockerd.log"
        self.proc = None

    def start(self):
        if shutil.which("dockerd") is None:
            raise StartError("dockerd not found: run scripts/test-deps.sh")
        cmd = [
            "dockerd",
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            f"--data-root={self.dir}/data",
            f"--exec-root={self.dir}/exec",
            f"--host={self.host}",
            f"--pidfile={self.dir}/d.pid",
            f"--registry-mirror={self.mirror_url}",
        ]
        env = {
            **os.environ,
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1",
        }
        self.proc = spawn(cmd, self.log, env=env, mode="wb")
        wait_ready(self.proc, lambda: docker_reachable(self.host), "dockerd", self.log, 90, interval=0.5)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=30)
            alive = self.proc.poll() is None
            self.proc = None
            if alive:
                return
        unmount_under(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(e2e_tmp):
    upstream = start_distribution(e2e_tmp / "fake-hub")
    seeded = {f"{repo}:{tag}": seed_image(upstream, repo, tag, e2e_tmp / "hub-layouts") for repo, tag in HUB_IMAGES}
    yield upstream, seeded
    upstream.stop()


@pytest.fixture(scope="module")
def mirror(e2e_tmp, hub):
    server = start_open_server(e2e_tmp / "mirror-berth", MIRROR_SOURCE=hub[0].url, MIRROR_TAGS_CACHE_TTL="3600")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mirrored_docker(tools, mirror, e2e_tmp):
    daemon = MirrorDockerd(mirror.url)
    try:
        daemon.start()
    except StartError as exc:
        daemon.stop()
        pytest.fail(f"{exc}\n{tail(daemon.log)}", pytrace=False)
    yield Docker(daemon.host, e2e_tmp / "mirror-docker-config")
    daemon.stop()


def test_docker_pulls_docker_hub_names_through_the_mirror(mirrored_docker, mirror, hub):
    _, seeded = hub
    for ref, expected in (
        ("alpine", "library/alpine:latest"),
        ("library/alpine:3", "library/alpine:3"),
        ("someorg/tool:1", "someorg/tool:1"),
    ):
        mirrored_docker("pull", ref)
        repo = ref.split(":")[0].removeprefix("library/")  # docker spells official images without library/
        assert f"{repo}@{seeded[expected].digest}" in mirrored_docker.repo_digests(ref)
    catalog = requests.get(f"{mirror.url}/v2/_catalog", timeout=30).json()["repositories"]
    assert {"library/alpine", "someorg/tool"} <= set(catalog)
    found = requests.get(f"{mirror.url}/v1/search", params={"q": "alpine"}, timeout=30).json()["results"]
    assert "library/alpine" in [r["name"] for r in found]  # what `docker search` asks
    wanted = 'berth_manifest_pulls_total{repository="library/alpine"}'  # pulls through the cache count
    deadline = time.monotonic() + 10  # each gunicorn worker hands its counts over at least once a second
    while wanted not in requests.get(f"{mirror.url}/metrics", timeout=30).text and time.monotonic() < deadline:
        time.sleep(0.2)
    assert wanted in requests.get(f"{mirror.url}/metrics", timeout=30).text
    mirrored_docker("rmi", "alpine", "library/alpine:3", "someorg/tool:1")
    mirrored_docker("pull", "alpine")  # warm: from Berth's store
    assert f"alpine@{seeded['library/alpine:latest'].digest}" in mirrored_docker.repo_digests("alpine")
