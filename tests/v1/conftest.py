"""Helpers for the v1 API tests: images shaped the way Docker 1.x writes them, and a real server.

Fixtures:
  images      a 3-image chain (base, mid, top) with gzip tar layers and Docker 1.x JSON
  (Berth over real HTTP: live_registry_url, tests/support/registry.py)
"""

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

import pytest
import requests

from tests.support.registry import sha256

DOCKER_UA = "docker/1.4.1 go/go1.3.3 git-commit/5bc2ff8 kernel/3.16.0-4-AMD64 os/Linux arch/AMD64"
DOCKER_SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_id(seed):
    return hashlib.sha256(seed.encode()).hexdigest()


# --- images the way Docker 1.x writes them (V1_PROTOCOL.md §6) ------------------------------


def make_tar(files):
    """An uncompressed tar of {name: bytes} (directories implied), fixed metadata."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1420070400, 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzipped(data):
    return gzip.compress(data, mtime=0)


def tarsum_v0(image_json, tar_bytes):
    """tarsum+sha256 v0 as Docker 1.x sends it in X-Docker-Checksum (informational)."""
    sums = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for m in tar:
            header = (
                f"name{m.name}mode{m.mode}uid{m.uid}gid{m.gid}size{m.size}mtime{m.mtime}typeflag{m.type.decode()}"
                f"linkname{m.linkname}uname{m.uname}gname{m.gname}devmajor{m.devmajor}devminor{m.devminor}"
            ).encode()
            content = tar.extractfile(m).read() if m.isfile() else b""
            sums.append(hashlib.sha256(header + content).hexdigest())
    return "tarsum+sha256:" + hashlib.sha256(image_json + "".join(sorted(sums)).encode()).hexdigest()


def run_config(cmd, image="", env=(PATH_ENV,), hostname="3b1d7f2a9c4e"):
    """runconfig.Config in Docker 1.4's field order."""
    return {
        "Hostname": hostname,
        "Domainname": "",
        "User": "",
        "Memory": 0,
        "MemorySwap": 0,
        "CpuShares": 0,
        "Cpuset": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "PortSpecs": None,
        "ExposedPorts": None,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": list(env),
        "Cmd": cmd,
        "Image": image,
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "NetworkDisabled": False,
        "MacAddress": "",
        "OnBuild": None,
    }


@dataclass
class V1Image:
    id: str
    parent: str | None
    json: bytes
    tar: bytes
    layer: bytes
    created_by: str
    created: str

    @property
    def payload_checksum(self):
        return sha256(self.json + b"\n" + self.layer)

    @property
    def tarsum(self):
        return tarsum_v0(self.json, self.tar)

    @property
    def diff_id(self):
        return sha256(self.tar)


def make_image(seed, parent, files, shell, created, author=None):
    """An image as `docker build` 1.4 leaves it: compact Go JSON (field order of image.go), gzip tar layer."""
    iid = image_id(seed)
    tar = make_tar(files)
    created_by = f"/bin/sh -c {shell}"
    body = {"id": iid}
    if parent:
        body["parent"] = parent.id
    body["created"] = created
    body["container"] = image_id(seed + "-container")
    body["container_config"] = run_config(["/bin/sh", "-c", shell], parent.id if parent else "")
    body["docker_version"] = "1.4.1"
    if author:
        body["author"] = author
    body["config"] = run_config(["/bin/sh"], parent.id if parent else "")
    body["architecture"] = "amd64"
    body["os"] = "linux"
    body["checksum"] = "tarsum+sha256:" + hashlib.sha256(tar).hexdigest()
    body["Size"] = sum(len(d) for d in files.values())
    raw = json.dumps(body, separators=(",", ":")).encode()
    return V1Image(iid, parent.id if parent else None, raw, tar, gzipped(tar), created_by, created)


def make_chain(seed="berth"):
    """base <- mid <- top; the mid layer is a few MiB of incompressible bytes (several 1 MiB blocks)."""
    noise = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(3 * 1024 * 1024 // 32 + 7))
    base = make_image(
        f"{seed}-base",
        None,
        {"etc/os-release": b'NAME="Berth Linux"\n', "bin/sh": b"#!fake shell\n"},
        "#(nop) ADD file:rootfs in /",
        "2015-01-02T03:04:05.123456789Z",
    )
    mid = make_image(
        f"{seed}-mid",
        base,
        {"opt/app/data.bin": noise},
        "dd if=/dev/urandom of=/opt/app/data.bin",
        "2015-01-02T03:04:06.5Z",
        author="Berth Tests <tests@berth.invalid>",
    )
    top = make_image(
        f"{seed}-top",
        mid,
        {"etc/app.conf": b"answer = 42\n"},
        "echo 'answer = 42' > /etc/app.conf",
        "2015-01-02T03:04:07Z",
    )
    return [base, mid, top]


@pytest.fixture
def images():
    return make_chain()


# --- a real server ------------------------------------------------------------------------------


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers["User-Agent"] = DOCKER_UA
        yield session


def chunks(data, size=64 * 1024):
    """A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
