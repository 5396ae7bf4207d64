"""Deterministic test images as OCI image layouts, built in Python and cached under bench/out/images/.

Three shapes, each in two variants:
  big       one layer of 1 GiB
  many      50 layers of 1 MiB
  typical   5 layers of 80, 35, 20, 10 and 5 MiB (an application image)
  -rand     incompressible content (a seeded PRNG)
  -text     compressible content (log-like text lines drawn from a seeded PRNG; gzip ~3.4x)

Sizes are the uncompressed size of the file inside each layer's tar; layers are gzip level 1
(the "fast" level). The same spec always gives the same bytes, so digests are stable between runs
and machines, and a layout is rebuilt only when its spec changes.
"""

import hashlib
import json
import os
import random
import shutil
import tarfile
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

MiB = 1 << 20
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
TAG = "latest"
BLOCK = MiB
FORMAT_VERSION = 1  # bump when the generator changes, to invalidate cached layouts

SHAPES = {
    "full": {"big": [1024 * MiB], "many": [1 * MiB] * 50, "typical": [80 * MiB, 35 * MiB, 20 * MiB, 10 * MiB, 5 * MiB]},
    "quick": {"big": [64 * MiB], "many": [1 * MiB] * 10, "typical": [8 * MiB, 4 * MiB, 2 * MiB, 1 * MiB, 1 * MiB]},
}
VARIANTS = ("rand", "text")

_WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
    "quebec romeo sierra tango uniform victor whiskey xray yankee zulu request response status cache worker "
    "queue server client handler session token database index table record update insert select commit"
).split()


@dataclass(frozen=True)
class ImageSpec:
    shape: str
    variant: str
    layer_sizes: tuple
    seed: int

    @property
    def name(self):
        return f"{self.shape}-{self.variant}"


@dataclass
class Layout:
    """A built layout: where it is and what the registry will receive."""

    spec: ImageSpec
    path: Path
    manifest_digest: str
    manifest_size: int
    config_digest: str
    config_size: int
    layers: list  # [{"digest", "size", "diff_id"}]

    @property
    def name(self):
        return self.spec.name

    @property
    def blob_digests(self):
        return [layer["digest"] for layer in self.layers] + [self.config_digest]

    @property
    def transfer_bytes(self):
        """Bytes a push or pull moves: every layer, the config and the manifest."""
        return sum(layer["size"] for layer in self.layers) + self.config_size + self.manifest_size

    @property
    def reference(self):
        return f"oci:{self.path}:{TAG}"


FIXTURE = ImageSpec("fixture", "text", (64 * 1024, 32 * 1024), seed=99)  # manifest/tags/catalog requests


def specs(size="full"):
    out = []
    for index, (shape, sizes) in enumerate(SHAPES[size].items()):
        for v, variant in enumerate(VARIANTS):
            out.append(ImageSpec(shape, variant, tuple(sizes), seed=1000 * (index + 1) + v))
    return out


# --------------------------------------------------------------------------- content


def _random_blocks(seed, size):
    rng = random.Random(seed)
    left = size
    while left > 0:
        n = min(BLOCK, left)
        left -= n
        yield rng.randbytes(n)


def _text_lines(rng):
    lines = []
    for _ in range(4096):
        lines.append(
            (
                f"2024-05-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                f"{rng.randint(0, 59):02d} INFO {rng.choice(_WORDS)}.{rng.choice(_WORDS)} id={rng.randint(0, 99999)} "
                f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_WORDS)} "
                f"status={rng.choice((200, 200, 200, 404, 500))}\n"
            ).encode()
        )
    return lines


def _text_blocks(seed, size):
    rng = random.Random(seed)
    lines = _text_lines(rng)
    left = size
    while left > 0:
        out = bytearray()
        while len(out) < BLOCK:
            out += b"".join(rng.choices(lines, k=256))
        n = min(BLOCK, left)
        left -= n
        yield bytes(out[:n])


def _tar_stream(member, size, blocks):
    """A one-file ustar/pax archive with fixed metadata, streamed."""
    info = tarfile.TarInfo(member)
    info.size, info.mode, info.mtime, info.uname, info.gname = size, 0o644, 1_700_000_000, "root", "root"
    yield info.tobuf(format=tarfile.PAX_FORMAT)
    written = 0
    for block in blocks:
        written += len(block)
        yield block
    assert written == size, (written, size)
    pad = (-size) % tarfile.BLOCKSIZE
    yield b"\0" * pad + b"\0" * (2 * tarfile.BLOCKSIZE)  # end of archive
    # tar files are padded to a 10 KiB record by tools; not needed by registries or docker.


# --------------------------------------------------------------------------- layout writing


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_blob(blobs_dir, data):
    digest = _sha(data)
    (blobs_dir / digest.split(":", 1)[1]).write_bytes(data)
    return digest, len(data)


def _write_layer(blobs_dir, spec, position, size):
    seed = spec.seed * 1000 + position
    blocks = _random_blocks(seed, size) if spec.variant == "rand" else _text_blocks(seed, size)
    member = f"bench/{spec.name}/layer-{position:02d}.{'bin' if spec.variant == 'rand' else 'log'}"
    diff_hash, blob_hash = hashlib.sha256(), hashlib.sha256()
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip wrapper, mtime 0: deterministic
    tmp = blobs_dir / f".tmp-{position}"
    compressed = 0
    with open(tmp, "wb") as fh:
        for piece in _tar_stream(member, size, blocks):
            diff_hash.update(piece)
            out = compressor.compress(piece)
            if out:
                blob_hash.update(out)
                fh.write(out)
                compressed += len(out)
        out = compressor.flush()
        blob_hash.update(out)
        fh.write(out)
        compressed += len(out)
    digest = "sha256:" + blob_hash.hexdigest()
    tmp.rename(blobs_dir / blob_hash.hexdigest())
    return {"digest": digest, "size": compressed, "diff_id": "sha256:" + diff_hash.hexdigest()}


def _spec_record(spec):
    return {"format": FORMAT_VERSION, **asdict(spec), "layer_sizes": list(spec.layer_sizes)}


def _load(path, spec):
    try:
        meta = json.loads((path / "bench-layout.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("spec") != _spec_record(spec):
        return None
    return Layout(spec=spec, path=path, **meta["layout"])


def build(spec, root, log=print):
    """The layout of `spec` under root/<name>, built unless a matching one is cached."""
    path = Path(root) / spec.name
    found = _load(path, spec)
    if found:
        return found
    started = time.monotonic()
    if path.exists():
        shutil.rmtree(path)
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layers = [_write_layer(blobs, spec, i, size) for i, size in enumerate(spec.layer_sizes)]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/sh"], "Labels": {"bench": spec.name}},
        "rootfs": {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"bench layer {i}"} for i in range(len(layers))],
    }
    config_digest, config_size = _write_blob(blobs, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": x["digest"], "size": x["size"]} for x in layers],
    }
    manifest_digest, manifest_size = _write_blob(blobs, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {REF_NAME: TAG},
            }
        ],
    }
    (path / "index.json").write_text(json.dumps(index, sort_keys=True))
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layout = {
        "manifest_digest": manifest_digest,
        "manifest_size": manifest_size,
        "config_digest": config_digest,
        "config_size": config_size,
        "layers": layers,
    }
    (path / "bench-layout.json").write_text(json.dumps({"spec": _spec_record(spec), "layout": layout}, indent=1))
    built = Layout(spec=spec, path=path, **layout)
    log(
        f"  built {spec.name}: {len(layers)} layers, {built.transfer_bytes / MiB:.1f} MiB compressed "
        f"in {time.monotonic() - started:.1f} s"
    )
    return built


def build_all(size, root, log=print):
    os.makedirs(root, exist_ok=True)
    return {spec.name: build(spec, root, log) for spec in specs(size)}
