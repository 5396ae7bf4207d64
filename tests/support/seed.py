"""Put test images into a real upstream registry with skopeo (from OCI layouts built by tests/e2e/builders).

    image = seed_image(upstream, "team/app", "1", workdir)                 # one image
    index = seed_image(upstream, "team/multi", "1", workdir, index=True)   # a multi-arch index
    big = seed_image(upstream, "team/big", "1", workdir, layer_size=8 << 20)
    ref = seed_referrer(upstream, "team/app", image, workdir)              # a signature-like artifact

`upstream` is anything with `.host` (host:port) and optional `.username`/`.password`.
"""

import gzip
import io
import os
import tarfile
import uuid
from dataclasses import dataclass

import requests

from tests.e2e.builders import (
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Built,
    OCILayout,
    canonical_json,
    sha256,
)
from tests.e2e.clients import skopeo

SIGNATURE = "application/vnd.example.signature.v1"


@dataclass
class Seeded:
    built: Built
    repo: str
    tag: str

    @property
    def digest(self):
        return self.built.digest


def _creds(upstream):
    username = getattr(upstream, "username", None)
    return ["--dest-creds", f"{username}:{upstream.password}"] if username else []


def copy_to(upstream, layout_root, tag, repo, dest_tag=None, multi=False):
    dest = f"docker://{upstream.host}/{repo}:{dest_tag or tag}"
    args = ["copy", "--dest-tls-verify=false", "--preserve-digests", *_creds(upstream)]
    if multi:
        args.append("--all")
    skopeo(*args, f"oci:{layout_root}:{tag}", dest)


def big_layer(layout, size):
    """A gzip layer holding `size` random bytes (incompressible: the blob is about `size` bytes)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("opt/big.bin")
        info.size, info.mode, info.mtime = size, 0o644, 1_700_000_000
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    tar_bytes = raw.getvalue()
    layer = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return layout.put_blob(layer), len(layer), sha256(tar_bytes)


def image_with_big_layer(layout, label, size) -> Built:
    layer_digest, layer_size, diff_id = big_layer(layout, size)
    config = canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"berth.test": label}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    )
    config_digest = layout.put_blob(config)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": layer_size}],
        }
    )
    return Built(layout.put_blob(manifest), OCI_MANIFEST, len(manifest), blobs=layout.blobs)


def seed_image(upstream, repo, tag, workdir, *, index=False, layer_size=0) -> Seeded:
    layout = OCILayout(workdir / f"layout-{uuid.uuid4().hex[:8]}")
    label = f"{repo.replace('/', '-')}-{tag}"
    if layer_size:
        built = image_with_big_layer(layout, label, layer_size)
    else:
        built = layout.index(label) if index else layout.image(label)
    layout.tag(built, tag)
    copy_to(upstream, layout.root, tag, repo, multi=index)
    return Seeded(built, repo, tag)


def artifact_manifest(layout, subject: Built, artifact_type=SIGNATURE) -> Built:
    """An OCI 1.1 artifact (empty config, one JSON layer) whose `subject` is `subject`."""
    empty = layout.put_blob(b"{}")
    payload = canonical_json({"critical": {"image": {"docker-manifest-digest": subject.digest}}, "n": uuid.uuid4().hex})
    layer = layout.put_blob(payload)
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": OCI_EMPTY, "digest": empty, "size": 2},
            "layers": [{"mediaType": f"{artifact_type}+json", "digest": layer, "size": len(payload)}],
            "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
            "annotations": {"org.example.signer": "berth-tests"},
        }
    )
    return Built(layout.put_blob(manifest), OCI_MANIFEST, len(manifest), blobs=layout.blobs)


def seed_referrer(upstream, repo, subject: Seeded, workdir, *, tag_schema=False, artifact_type=SIGNATURE) -> Built:
    """Push an artifact referring to `subject`. With `tag_schema` (registries without the referrers
    API, such as distribution 2.8.2) also push the fallback index tagged sha256-<hex> of the subject,
    as OCI 1.1 clients (oras, cosign) do."""
    layout = OCILayout(workdir / f"layout-{uuid.uuid4().hex[:8]}")
    built = artifact_manifest(layout, subject.built, artifact_type)
    name = f"ref-{uuid.uuid4().hex[:8]}"
    layout.tag(built, name)
    copy_to(upstream, layout.root, name, repo)
    if tag_schema:
        descriptor = {
            "mediaType": OCI_MANIFEST,
            "digest": built.digest,
            "size": built.size,
            "artifactType": artifact_type,
            "annotations": {"org.example.signer": "berth-tests"},
        }
        index = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]})
        put_index(upstream, repo, subject.digest.replace(":", "-", 1), index)
    return built


def put_index(upstream, repo, tag, index: bytes):
    """PUT an index by hand (skopeo 1.9 drops a descriptor's artifactType, and then will not preserve
    the digest); Basic credentials when the upstream has them (distribution's htpasswd)."""
    username = getattr(upstream, "username", None)
    response = requests.put(
        f"http://{upstream.host}/v2/{repo}/manifests/{tag}",
        data=index,
        headers={"Content-Type": OCI_INDEX},
        auth=(username, upstream.password) if username else None,
        timeout=60,
    )
    assert response.status_code == 201, (response.status_code, response.text)
