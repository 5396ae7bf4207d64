"""Registry content for the catalog tests, pushed through the services the way a client's push lands.

Images get realistic configs (entrypoint, env, labels, ports, history) so the pages have
something to show; indexes, cosign-style tags and OCI referrers cover multi-arch and supply chain.
"""

import json
import os

from django.utils import timezone

from images import manifest_formats
from images.models import Repository, Tag
from images.services import manifests
from tests.support.registry import push_blob, sha256

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX = "application/spdx+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


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
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(b), "size": len(b)} for b in blobs],
    }
    data = json.dumps(body, indent=2).encode()
    manifests.put(repository, tag or sha256(data), data, manifest_formats.OCI_MANIFEST)
    return sha256(data)


def push_index(repository, tag, platforms=(("amd64", None), ("arm64", "v8")), label="multi"):
    """Push one image per platform (by digest) and an index over them; return (index digest, {platform: digest})."""
    children, entries = {}, []
    for arch, variant in platforms:
        digest = push_image(repository, None, arch=arch, label=f"{label}-{arch}", variant=variant)
        platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        size = len(manifests.get(repository, digest).payload)
        entries.append(
            {"mediaType": manifest_formats.OCI_MANIFEST, "digest": digest, "size": size, "platform": platform}
        )
        children["/".join(p for p in ("linux", arch, variant) if p)] = digest
    data = json.dumps(
        {"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": entries}, indent=2
    ).encode()
    manifests.put(repository, tag, data, manifest_formats.OCI_INDEX)
    return sha256(data), children


def push_referrer(repository, subject_digest, artifact_type=SPDX, payload=b'{"spdxVersion": "SPDX-2.3"}'):
    """Attach an artifact to `subject_digest` (OCI 1.1 subject); return the artifact manifest's digest."""
    empty = b"{}"
    push_blob(repository, empty)
    push_blob(repository, payload)
    subject = manifests.get(repository, subject_digest)
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": sha256(empty), "size": 2},
        "layers": [{"mediaType": artifact_type, "digest": sha256(payload), "size": len(payload)}],
        "subject": {"mediaType": subject.media_type, "digest": subject_digest, "size": subject.size},
        "annotations": {"org.opencontainers.image.created": "2024-05-03T00:00:00Z"},
    }
    data = json.dumps(body, indent=2).encode()
    manifests.put(repository, sha256(data), data, manifest_formats.OCI_MANIFEST)
    return sha256(data)


def push_cosign_signature(repository, subject_digest):
    """A signature stored the cosign way: a tag named sha256-<hex>.sig."""
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": subject_digest}}}).encode()
    config = b"{}"
    push_blob(repository, config)
    push_blob(repository, payload)
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [
            {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": sha256(payload), "size": 9}
        ],
    }
    body["layers"][0]["size"] = len(payload)
    data = json.dumps(body).encode()
    tag = subject_digest.replace(":", "-") + ".sig"
    manifests.put(repository, tag, data, manifest_formats.OCI_MANIFEST)
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


# --- every kind of manifest the registry accepts, for "every page renders" tests --------------------

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar.gzip"
WASM_ARTIFACT = "application/vnd.wasm.content.layer.v1+wasm"


def push_empty_index(repository, tag, media_type=manifest_formats.OCI_INDEX):
    """An index with no entries (what `podman manifest push --all` of an empty list sends)."""
    data = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": []}).encode()
    manifests.put(repository, tag, data, media_type)
    return sha256(data)


def push_index_without_children(repository, tag):
    """A multi-platform index whose platform images were deleted by digest afterwards (a push must
    include them; a delete can take them away)."""
    digest, children = push_index(repository, tag, label=f"orphan-{os.urandom(4).hex()}")
    for child in children.values():
        manifests.delete(repository, child)
    return digest


def push_artifact(repository, tag, config_media_type=EMPTY_CONFIG, config=b"{}", artifact_type=None, layer_type=None):
    """An OCI artifact: a config that is not an image config (Helm's, or the OCI empty one with an
    artifactType) and one file; no subject."""
    payload = os.urandom(512)
    push_blob(repository, config)
    push_blob(repository, payload)
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": config_media_type, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": layer_type or artifact_type or HELM_CHART, "digest": sha256(payload), "size": 512}],
        "annotations": {"org.opencontainers.image.title": "artifact.bin"},
    }
    if artifact_type:
        body["artifactType"] = artifact_type
    data = json.dumps(body).encode()
    manifests.put(repository, tag, data, manifest_formats.OCI_MANIFEST)
    return sha256(data)


def push_v1_image(repository, tag, seed="v1-page"):
    """An image pushed over the v1 protocol (through the v1 services), converted to Docker schema 2."""
    from images.services import v1_images, v1_repositories
    from tests.v1.conftest import make_chain

    chain = make_chain(seed)
    for image in chain:
        v1_images.put_json(image.id, image.json)
        v1_images.put_layer(image.id, [image.layer])
        v1_images.put_checksum(image.id, image.payload_checksum)
    v1_repositories.put_index(repository, json.dumps([{"id": i.id} for i in chain]).encode())
    v1_repositories.put_tag(repository, tag, json.dumps(chain[-1].id).encode())
    return chain


def push_image_without_config(repository, tag):
    """An image whose config blob's bytes are gone from storage (lost, or removed by hand)."""
    from images.services import catalog
    from storage_backends import blobstore

    digest = push_image(repository, tag, label=f"lost-config-{os.urandom(4).hex()}", layers=1)
    manifest = manifests.get(repository, digest)
    blobstore.delete(manifest.config_digest)
    catalog.cache.delete(catalog._config_cache_key(manifest.config_digest))
    return digest


def push_every_kind(prefix="kinds"):
    """One repository per kind of manifest whose pages once failed or could fail: {kind: (repository, tag)}."""
    kinds = {
        "empty-index": (f"{prefix}/empty-index", "empty"),
        "empty-manifest-list": (f"{prefix}/empty-list", "empty"),
        "index-without-children": (f"{prefix}/orphan-index", "multi"),
        "helm-chart": (f"{prefix}/helm", "0.1.0"),
        "oci-artifact": (f"{prefix}/artifact", "wasm"),
        "v1-image": (f"{prefix}/legacy", "1.4"),
        "missing-config": (f"{prefix}/lost", "broken"),
    }
    push_empty_index(*kinds["empty-index"])
    push_empty_index(*kinds["empty-manifest-list"], media_type=manifest_formats.DOCKER_LIST)
    push_index_without_children(*kinds["index-without-children"])
    push_artifact(*kinds["helm-chart"], config_media_type=HELM_CONFIG, config=b'{"name": "chart", "version": "0.1.0"}')
    push_artifact(*kinds["oci-artifact"], artifact_type=WASM_ARTIFACT)
    push_v1_image(*kinds["v1-image"])
    push_image_without_config(*kinds["missing-config"])
    return kinds
