"""Image archives on disk, pure: `docker save` tarballs, OCI image layouts and oci-archives.

No database, no storage: names, JSON documents and media types only.

docker save (docker-archive), as written by docker 1.10 .. 24:
    manifest.json        [{"Config": "<hex>.json", "RepoTags": ["repo:tag"], "Layers": ["<id>/layer.tar", ...]}]
    <hex>.json           the image config (its sha256 is the image id)
    <id>/layer.tar       an uncompressed layer (its sha256 is the diff_id); docker links duplicates
    repositories         legacy {"repo": {"tag": "<id>"}}
docker 25+ writes the same manifest.json over an OCI layout (Layers: "blobs/sha256/<hex>").

OCI image layout (a folder) and oci-archive (the same folder as a tar):
    oci-layout           {"imageLayoutVersion": "1.0.0"}
    index.json           an OCI index; entries name their tag in org.opencontainers.image.ref.name
    blobs/<alg>/<hex>    manifests, configs and layers, content-addressed
"""

import json
import posixpath
import re

from images import manifest_formats, references

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
# Documents kept in memory while an archive streams by; anything larger is a layer.
SMALL = 4 * 1024 * 1024
_BLOB_PATH = re.compile(r"^blobs/([a-z0-9]+)/([0-9a-f]{32,})$")


class ArchiveError(ValueError):
    """The archive is not one of the supported formats, or is inconsistent."""


def normalize(name):
    """A tar member name without ./ or leading slashes."""
    name = posixpath.normpath(name.lstrip("/")) if name else ""
    return "" if name == "." else name


def blob_digest_of_path(name):
    """`blobs/sha256/<hex>` -> `sha256:<hex>`; None for other names."""
    match = _BLOB_PATH.match(normalize(name))
    return f"{match.group(1)}:{match.group(2)}" if match else None


def blob_path(digest):
    algorithm, encoded = digest.split(":", 1)
    return f"blobs/{algorithm}/{encoded}"


def is_document(name, size):
    """Whether a member is worth keeping in memory (JSON documents, manifests, configs)."""
    return size <= SMALL


def is_staged(name):
    """Whether a member's bytes go to upload staging (blobs and layers)."""
    name = normalize(name)
    return blob_digest_of_path(name) is not None or name.endswith("/layer.tar") or name.endswith(".tar.gz")


def loads(data, what):
    try:
        return json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ArchiveError(f"{what} is not valid JSON") from None


def layer_media_type(head, oci=False):
    """Layer media type from the first bytes: gzip, zstd or a plain tar."""
    if head[:2] == b"\x1f\x8b":
        return OCI_LAYER_GZIP if oci else DOCKER_LAYER_GZIP
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return OCI_LAYER_ZSTD
    return OCI_LAYER if oci else DOCKER_LAYER


# --- docker save --------------------------------------------------------------------------


def docker_entries(data):
    """The entries of a docker-archive manifest.json: [{"Config", "RepoTags", "Layers"}]."""
    entries = loads(data, "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise ArchiveError("manifest.json holds no image")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise ArchiveError("manifest.json entry without Config")
        if not isinstance(entry.get("Layers"), list) or not all(isinstance(x, str) for x in entry["Layers"]):
            raise ArchiveError("manifest.json entry without Layers")
        entry["RepoTags"] = [t for t in entry.get("RepoTags") or [] if isinstance(t, str)]
    return entries


def docker_manifest(config, layers):
    """Docker schema 2 manifest bytes over (digest, size) of the config and (digest, size, media type) of layers."""
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": config[1], "digest": config[0]},
        "layers": [{"mediaType": t, "size": size, "digest": digest} for digest, size, t in layers],
    }
    return json.dumps(body, indent=3).encode()


def docker_load_manifest(config_name, repo_tags, layer_names):
    return json.dumps([{"Config": config_name, "RepoTags": list(repo_tags), "Layers": list(layer_names)}]).encode()


# --- OCI layouts -------------------------------------------------------------------------------


def oci_index(data):
    index = loads(data, "index.json")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise ArchiveError("index.json is not an OCI index")
    return index


def ref_name(descriptor):
    annotations = descriptor.get("annotations") or {}
    return annotations.get(REF_NAME) or ""


def select(index, wanted=""):
    """The index.json descriptor to import: the only one, or the one whose ref name (or image name) is `wanted`."""
    entries = [d for d in index["manifests"] if isinstance(d, dict) and d.get("digest")]
    if not entries:
        raise ArchiveError("index.json lists no manifest")
    if wanted:
        for d in entries:
            annotations = d.get("annotations") or {}
            names = {ref_name(d), annotations.get(CONTAINERD_NAME, "")}
            if wanted in names or any(n.endswith(f":{wanted}") or n.endswith(f"/{wanted}") for n in names if n):
                return d
        raise ArchiveError(f"no image named {wanted!r} in index.json (found {[ref_name(d) for d in entries]})")
    if len(entries) > 1:
        raise ArchiveError(f"index.json lists {len(entries)} images, choose one: {[ref_name(d) for d in entries]}")
    return entries[0]


def layout_index(entries):
    return json.dumps(
        {"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": entries}, indent=2
    ).encode()


# --- names ---------------------------------------------------------------------------------------


def split_image_name(text, default_tag="latest"):
    """`[host/]repo[:tag]` as docker writes RepoTags -> (registry repository name, tag); host dropped."""
    text = text.split("@", 1)[0]
    name, tag = text, ""
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = text.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts and parts[0] == "docker.io":
        parts = parts[1:]
    repository = references.canonical_name("/".join(parts))
    return repository, tag or default_tag


def parse_target(text):
    """`REPO[:TAG]` of a command line -> (repository, tag or "")."""
    repository, tag = split_image_name(text, default_tag="")
    references.validate_name(repository)
    if tag:
        references.validate_tag(tag)
    return repository, tag
