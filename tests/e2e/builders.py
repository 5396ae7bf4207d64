"""Test images made locally, with no network: rootfs tarballs and OCI image layouts.

Every builder puts random bytes into its files, so two images never share a layer
(and a test never finds its blobs already in the registry from an earlier test).
"""

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.registry import sha256

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar of regular files (parent directories added), stable metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_files(tar, files)
    return buf.getvalue()


def _add_files(tar, files):
    dirs = sorted({str(Path(name).parent) for name in files} - {"."})
    seen = set()
    for d in dirs:
        parts = Path(d).parts
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub not in seen:
                seen.add(sub)
                info = tarfile.TarInfo(sub)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
                tar.addfile(info)
    for name, data in sorted(files.items()):
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
        tar.addfile(info, io.BytesIO(data))


def random_files(label: str, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """A tiny root filesystem whose content is unique to this call."""
    files = {
        "etc/os-release": f'NAME="berth-e2e"\nID=berth\nVARIANT="{label}"\n'.encode(),
        "etc/hostname": b"berth-e2e\n",
        f"opt/{label}/random.bin": os.urandom(4096),
        f"opt/{label}/nonce.txt": os.urandom(16).hex().encode() + b"\n",
    }
    files.update(extra or {})
    return files


def write_rootfs_tar(path, label: str, big_file_size: int = 0) -> dict:
    """Write a rootfs tarball for `docker import` / `podman import`.

    Returns {"path", "files"} where files maps name -> sha256 of content; with
    big_file_size, "opt/big.bin" holds that many random bytes (streamed to disk).
    """
    path = Path(path)
    files = random_files(label)
    digests = {name: sha256(data) for name, data in files.items()}
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_files(tar, files)
        if big_file_size:
            h = hashlib.sha256()
            big = path.with_suffix(".big.bin")
            with open(big, "wb") as fh:
                left = big_file_size
                while left:
                    block = os.urandom(min(left, 1 << 20))
                    h.update(block)
                    fh.write(block)
                    left -= len(block)
            info = tarfile.TarInfo("opt/big.bin")
            info.size, info.mode, info.mtime = big_file_size, 0o644, 1_700_000_000
            with open(big, "rb") as fh:
                tar.addfile(info, fh)
            big.unlink()
            digests["opt/big.bin"] = "sha256:" + h.hexdigest()
    return {"path": path, "files": digests}


def canonical_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class Built:
    """Digests of what a layout holds: the top manifest (image or index) and its children."""

    digest: str
    media_type: str
    size: int
    children: dict = field(default_factory=dict)  # "os/arch" -> manifest digest
    blobs: dict = field(default_factory=dict)  # digest -> bytes (every blob and manifest written)


class OCILayout:
    """Write an OCI image layout directory (oci-layout, index.json, blobs/sha256/...)."""

    def __init__(self, root):
        self.root = Path(root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.entries = []
        self.blobs = {}

    def put_blob(self, data: bytes) -> str:
        digest = sha256(data)
        (self.root / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
        self.blobs[digest] = data
        return digest

    def image(self, label: str, os_name="linux", arch="amd64") -> Built:
        layer_tar = tar_bytes(random_files(f"{label}-{arch}"))
        layer = gzip.compress(layer_tar, mtime=0)
        layer_digest = self.put_blob(layer)
        config = canonical_json(
            {
                "architecture": arch,
                "os": os_name,
                "created": "2024-01-01T00:00:00Z",
                "config": {"Cmd": ["/bin/true"], "Labels": {"berth.e2e": label}},
                "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
                "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"berth e2e {label}"}],
            }
        )
        config_digest = self.put_blob(config)
        manifest = canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": len(layer)}],
            }
        )
        return Built(self.put_blob(manifest), OCI_MANIFEST, len(manifest), blobs=self.blobs)

    def index(self, label: str, platforms=(("linux", "amd64"), ("linux", "arm64"))) -> Built:
        children, descriptors = {}, []
        for os_name, arch in platforms:
            child = self.image(label, os_name, arch)
            children[f"{os_name}/{arch}"] = child.digest
            descriptors.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child.digest,
                    "size": child.size,
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
        index = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
        return Built(self.put_blob(index), OCI_INDEX, len(index), children=children, blobs=self.blobs)

    def tag(self, built: Built, name: str):
        self.entries.append(
            {
                "mediaType": built.media_type,
                "digest": built.digest,
                "size": built.size,
                "annotations": {REF_NAME: name},
            }
        )
        (self.root / "index.json").write_bytes(
            canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries})
        )


def read_layout_ref(root, name: str) -> dict:
    """The index.json descriptor tagged `name` in an OCI layout."""
    index = json.loads((Path(root) / "index.json").read_text())
    for entry in index.get("manifests", []):
        if (entry.get("annotations") or {}).get(REF_NAME) == name:
            return entry
    raise AssertionError(f"no {name!r} in {root}/index.json: {index}")


def read_layout_blob(root, digest: str) -> bytes:
    algorithm, hexpart = digest.split(":", 1)
    return (Path(root) / "blobs" / algorithm / hexpart).read_bytes()
