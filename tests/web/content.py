"""Registry content for the catalog tests, pushed through the services the way a client's push lands.

Images get realistic configs (entrypoint, env, labels, ports, history) so the pages have
something to show; indexes, cosign-style tags and OCI referrers cover multi-arch and supply chain.
"""

import json
import os

from django.utils import timezone

from images import manifests as media
from images.digests import of_bytes as sha256
from images.models import Repository, Tag
from images.services import manifests, uploads

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX = "application/spdx+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


def push_blob(repository, data):
    upload = uploads.start(repository)
    uploads.complete(upload, sha256(data), blocks=[data])
    return sha256(data)


def image_config(arch="amd64", label="app", variant=None, steps=2):
    history = [
        {"created": "2024-05-01T10:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:1234 in / "},
        {"created": "2024-05-01T10:00:01Z", "created_by": '/bin/sh -c #(nop)  CMD ["/bin/sh"]', "empty_layer": True},
    ]
    for i in range(1, steps):
        history.append({"created": "2024-05-02T09:00:00Z", "created_by": f"RUN /bin/sh -c make step-{i} # buildkit"})
    history.append({"created": "2024-05-02T09:00:05Z", "created_by": "EXPOSE map[8080/tcp:{}]", "empty_layer": True})
    body = {
        "architecture": arch,
        "os": "linux",
        "created": "2024-05-02T09:00:05Z",
        "author": "Berth Tests <tests@berth.invalid>",
        "config": {
            "Entrypoint": ["/usr/local/bin/app"],
            "Cmd": ["--serve", "--port=8080"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"APP_LABEL={label}"],
            "Labels": {"org.opencontainers.image.source": "https://example.invalid/app", "berth.test": label},
            "ExposedPorts": {"8080/tcp": {}},
            "WorkingDir": "/srv",
            "User": "app",
        },
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": history,
    }
    if variant:
        body["variant"] = variant
    return json.dumps(body, indent=2).encode()


def push_image(repository, tag=None, arch="amd64", label="app", layers=2, layer_size=2048, variant=None):
    """Push an OCI image (config + `layers` random layers); return its digest. Tag it if `tag` is given."""
    config = image_config(arch, label, variant, steps=layers)
    blobs = [os.urandom(layer_size * (i + 1)) for i in range(layers)]
    for data in (config, *blobs):
        push_blob(repository, data)
    body = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(b), "size": len(b)} for b in blobs],
    }
    data = json.dumps(body, indent=2).encode()
    manifests.put(repository, tag or sha256(data), data, media.OCI_MANIFEST)
    return sha256(data)


def push_index(repository, tag, platforms=(("amd64", None), ("arm64", "v8")), label="multi"):
    """Push one image per platform (by digest) and an index over them; return (index digest, {platform: digest})."""
    children, entries = {}, []
    for arch, variant in platforms:
        digest = push_image(repository, None, arch=arch, label=f"{label}-{arch}", variant=variant)
        platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        size = len(manifests.get(repository, digest).payload)
        entries.append({"mediaType": media.OCI_MANIFEST, "digest": digest, "size": size, "platform": platform})
        children["/".join(p for p in ("linux", arch, variant) if p)] = digest
    data = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": entries}, indent=2).encode()
    manifests.put(repository, tag, data, media.OCI_INDEX)
    return sha256(data), children


def push_referrer(repository, subject_digest, artifact_type=SPDX, payload=b'{"spdxVersion": "SPDX-2.3"}'):
    """Attach an artifact to `subject_digest` (OCI 1.1 subject); return the artifact manifest's digest."""
    empty = b"{}"
    push_blob(repository, empty)
    push_blob(repository, payload)
    subject = manifests.get(repository, subject_digest)
    body = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": sha256(empty), "size": 2},
        "layers": [{"mediaType": artifact_type, "digest": sha256(payload), "size": len(payload)}],
        "subject": {"mediaType": subject.media_type, "digest": subject_digest, "size": subject.size},
        "annotations": {"org.opencontainers.image.created": "2024-05-03T00:00:00Z"},
    }
    data = json.dumps(body, indent=2).encode()
    manifests.put(repository, sha256(data), data, media.OCI_MANIFEST)
    return sha256(data)


def push_cosign_signature(repository, subject_digest):
    """A signature stored the cosign way: a tag named sha256-<hex>.sig."""
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": subject_digest}}}).encode()
    config = b"{}"
    push_blob(repository, config)
    push_blob(repository, payload)
    body = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [
            {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": sha256(payload), "size": 9}
        ],
    }
    body["layers"][0]["size"] = len(payload)
    data = json.dumps(body).encode()
    tag = subject_digest.replace(":", "-") + ".sig"
    manifests.put(repository, tag, data, media.OCI_MANIFEST)
    return tag


def bulk_catalog(count, tags_per_repo=2, namespace_every=3, prefix="bulk"):
    """Many repositories with tags straight in the database (fast), sharing one pushed manifest."""
    digest = push_image(f"{prefix}-seed/base", "seed", layers=1, layer_size=64)
    manifest = manifests.get(f"{prefix}-seed/base", digest)
    now = timezone.now()
    repos = Repository.objects.bulk_create(
        Repository(
            name=f"ns{i % namespace_every}/{prefix}-{i:05d}" if namespace_every else f"{prefix}-{i:05d}",
            namespace=f"ns{i % namespace_every}" if namespace_every else "",
            description=f"Bulk repository number {i}",
            last_push_at=now,
        )
        for i in range(count)
    )
    repos = list(Repository.objects.filter(name__contains=f"{prefix}-").exclude(name__startswith=f"{prefix}-seed"))
    Tag.objects.bulk_create(
        Tag(repository=r, name=f"v{j}", manifest=manifest) for r in repos for j in range(tags_per_repo)
    )
    return repos
