"""The legacy v1 formats, pure: ids, names, image JSON, layer checksums, v1 -> schema 2.

No database, no storage (like manifest_formats.py); see V1_PROTOCOL.md for the rules.
"""

import hashlib
import json
import re
import secrets
import string
import time
import zlib

from images import manifest_formats
from images.errors import DataInvalid, ImageIdInvalid, ImageInvalid, LayerInvalid, TagInvalid

IMAGE_ID = re.compile(r"^(?:[a-f0-9]{16}|[a-f0-9]{64})$")
TAG = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
TAG_MESSAGE = r"Invalid tag name (must match ^[\w][\w.-]{0,127}$)"
DEFAULT_NAMESPACE = "library"

CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# The fields of Docker's image.V1Image that belong in an image config (id, parent, Size don't).
CONFIG_FIELDS = (
    "architecture",
    "author",
    "comment",
    "config",
    "container",
    "container_config",
    "created",
    "docker_version",
    "os",
    "variant",
)
DEFAULT_METADATA = {
    "last_update": None,
    "docker_version": None,
    "docker_go_version": None,
    "arch": "amd64",
    "os": "linux",
    "kernel": None,
}

_DOCKER_VERSION = re.compile(r"docker/([^\s]+)")
_USER_AGENT_PART = re.compile(r"([^\s/]+)/([^\s/]+)")
_GZIP_MAGIC = b"\x1f\x8b"
_INFLATE_SLICE = 16 * 1024  # bounds the memory one slice of a gzip bomb can inflate to


def is_image_id(value):
    return isinstance(value, str) and bool(IMAGE_ID.fullmatch(value))


def check_image_id(value):
    if not is_image_id(value):
        raise ImageIdInvalid()
    return value


def check_tag(tag):
    if not isinstance(tag, str) or not TAG.fullmatch(tag):
        raise TagInvalid(TAG_MESSAGE, detail={"tag": str(tag)[:200]})
    return tag


def repository_candidates(path):
    """Registry names a v1 repository path may mean, preferred first.

    One component means the `library` namespace (`foo` is `library/foo`). The bare
    name comes second so a repository pushed over v2 as `foo` is the same one.
    """
    name = path.rstrip("/")
    if "/" not in name:
        return (f"{DEFAULT_NAMESPACE}/{name}", name)
    namespace, rest = name.split("/", 1)
    if namespace == DEFAULT_NAMESPACE and "/" not in rest:
        return (name, rest)
    return (name,)


def client_version(user_agent):
    """(major, minor, ...) of a `docker/X.Y.Z` User-Agent, or None for other clients."""
    match = _DOCKER_VERSION.search(user_agent or "")
    if not match:
        return None
    numbers = []
    for part in match.group(1).split("-", 1)[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers) or None


def client_too_old(user_agent):
    version = client_version(user_agent)
    return version is not None and version < (0, 10)


def tag_metadata(user_agent, now=None):
    """What PUT tag records about the pushing client (served by GET .../tags/<tag>/json)."""
    parts = dict(_USER_AGENT_PART.findall(user_agent or ""))
    meta = {"last_update": int(now if now is not None else time.time())}
    if "docker" in parts:
        meta["docker_version"] = parts["docker"]
    if "go" in parts:
        meta["docker_go_version"] = parts["go"]
    for key in ("arch", "kernel", "os"):
        if key in parts:
            meta[key] = parts[key].lower()
    return meta


def token(repository, access):
    """The standalone index's token: valid nowhere, but Docker 1.x insists on one."""
    signature = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    return f'Token signature={signature},repository="{repository}",access={access}'


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")  # RFC 8259: no NaN/Infinity (they'd end up in a config blob)


def loads(raw):
    """JSON from request bytes, or None when they aren't UTF-8 JSON."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def parse_image_json(raw, image_id):
    """Validate PUT json bytes against the URL's id; returns (data, parent id or None)."""
    data = loads(raw)
    if not data or not isinstance(data, dict):
        raise ImageInvalid("Invalid JSON")
    if "id" not in data:
        raise ImageInvalid("Missing key `id' in JSON")
    if data["id"] != image_id:
        raise ImageInvalid("JSON data contains invalid id")
    return data, data.get("parent") or None


def parse_index(raw):
    """A repository image index body: [{"id": ..., "checksum"?: ...}, ...] -> [(id, checksum)]."""
    data = loads(raw)
    if data is None:
        raise DataInvalid("Error Decoding JSON")
    if not isinstance(data, list):
        raise DataInvalid("Invalid data")
    entries = {}
    for item in data:
        if not isinstance(item, dict) or not is_image_id(item.get("id")):
            raise DataInvalid("Invalid data")
        checksum = item.get("checksum") or ""
        if not isinstance(checksum, str) or len(checksum) > 200:
            raise DataInvalid("Invalid data")
        if item["id"] not in entries or (checksum and not entries[item["id"]]):
            entries[item["id"]] = checksum  # the first entry with a checksum wins
    return list(entries.items())


class LayerDigester:
    """Hashes a layer as it streams in: the v1 payload checksum and the diff_id.

    payload = sha256(json + "\\n" + layer bytes as uploaded); diff_id = sha256 of the
    uncompressed tar (gzip members are inflated in bounded slices; a layer that does
    not start with the gzip magic is taken as a plain tar).
    """

    def __init__(self, image_json):
        self.payload = hashlib.sha256(bytes(image_json) + b"\n")
        self.diff = hashlib.sha256()
        self.size = 0
        self.compressed = None  # unknown until two bytes arrived
        self._head = b""
        self._inflater = None
        self._pending = b""
        self._trailing = False
        self._broken = False

    def update(self, block):
        if not block:
            return
        self.payload.update(block)
        self.size += len(block)
        if self.compressed is None:
            self._head += block
            if len(self._head) < 2:
                return
            block, self._head = self._head, b""
            self.compressed = block.startswith(_GZIP_MAGIC)
        if not self.compressed:
            self.diff.update(block)
        elif not self._broken and not self._trailing:
            for start in range(0, len(block), _INFLATE_SLICE):
                self._inflate(block[start : start + _INFLATE_SLICE])

    def wrap(self, blocks):
        for block in blocks:
            self.update(block)
            yield block

    def _inflate(self, data):
        while data and not self._broken and not self._trailing:
            if self._inflater is None:  # at the start of a (next) gzip member
                data, self._pending = self._pending + data, b""
                if len(data) < 2:
                    self._pending = data
                    return
                if not data.startswith(_GZIP_MAGIC):
                    self._trailing = True  # bytes after the last member: ignored, as gzip(1) does
                    return
                self._inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)
            try:
                self.diff.update(self._inflater.decompress(data))
            except zlib.error:
                self._broken = True
                return
            data = b""
            if self._inflater.eof:
                data, self._inflater = self._inflater.unused_data, None

    def finish(self):
        """(payload checksum, diff_id); LAYER_INVALID for a corrupt or truncated gzip layer."""
        if self.compressed is None:  # fewer than two bytes: not gzip
            self.compressed = False
            self.diff.update(self._head)
        if self.compressed and self._inflater is not None and not self._broken:
            try:
                self.diff.update(self._inflater.flush())
            except zlib.error:
                self._broken = True
            if not self._inflater.eof:
                self._broken = True
        if self._broken:
            raise LayerInvalid()
        return f"sha256:{self.payload.hexdigest()}", f"sha256:{self.diff.hexdigest()}"


def canonical_json(value):
    """Deterministic JSON bytes (sorted keys, no whitespace): equal input, equal digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")


def _history_entry(image):
    entry = {}
    if image.get("created"):
        entry["created"] = image["created"]
    if image.get("author"):
        entry["author"] = image["author"]
    container_config = image.get("container_config")
    cmd = container_config.get("Cmd") if isinstance(container_config, dict) else None
    if isinstance(cmd, list):
        cmd = " ".join(str(part) for part in cmd)
    if cmd:
        entry["created_by"] = str(cmd)
    if image.get("comment"):
        entry["comment"] = image["comment"]
    return entry


def image_config(chain, diff_ids):
    """A Docker image config from the parsed v1 JSON chain (base first) and the layers' diff_ids."""
    top = chain[-1]
    config = {key: top[key] for key in CONFIG_FIELDS if top.get(key) is not None}
    config["architecture"] = config.get("architecture") or "amd64"
    config["os"] = config.get("os") or "linux"
    config["history"] = [_history_entry(image) for image in chain]
    config["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    return canonical_json(config)


def image_manifest(config_digest, config_size, layers):
    """A Docker schema 2 manifest; `layers` are (digest, size) base first."""
    return canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": manifest_formats.DOCKER_MANIFEST,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": d, "size": s} for d, s in layers],
        }
    )


def image_id_of(manifest_config_digest, manifest_digest):
    """The id v1 shows for a tag pushed over v2: the config digest hex, as `docker images` does."""
    digest = manifest_config_digest or manifest_digest
    return digest.split(":", 1)[-1]
