"""Import images from `docker save` tarballs, oci-archives and OCI layouts; export them back.

Import streams: a tarball is read once, in order (`tarfile` mode "r|*", so
stdin and gzip work too). Since `docker save` may write manifest.json after the
layers, every blob or layer member goes into an upload session (hashed while
it is written) as it passes, small JSON documents are kept in memory, and the
manifests are built when the stream ends. Only blobs the chosen images use
are committed (through the same upload path as a push, so the collector's
protocol holds); the rest of the staging is cancelled. An OCI layout folder is
read directly, blob by blob.

`docker save` layers are stored as they are, uncompressed, with the media type
application/vnd.docker.image.rootfs.diff.tar: the import is one pass with no
CPU spent compressing, the blob digest is the config's diff_id (checked), and
`export_image` hands back the very same bytes. docker, podman, skopeo and
containerd pull uncompressed layers; the cost is transfer size.

Export writes a tarball `docker load` accepts (manifest.json, <config>.json,
<layer>/layer.tar; an index is narrowed to one platform) or an OCI image
layout (folder, or the same as an oci-archive tarball) with every child,
config and layer, tagged with org.opencontainers.image.ref.name. Tarballs are
written in stream mode from the blob store; memory stays flat.
"""

import io
import json
import os
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from images import archive_formats as fmt
from images import digests, manifest_formats, references
from images.errors import RegistryError
from images.models import Blob, Upload
from images.progress import NullProgress
from images.services import blobs, manifests, uploads
from storage_backends import blobstore, upload_staging

STAGING_NAME = "_import/staging"
BLOCK = 1024 * 1024
ArchiveError = fmt.ArchiveError


@dataclass
class Staged:
    upload: object
    digest: str
    size: int
    head: bytes = b""


@dataclass
class Imported:
    repository: str
    tag: str
    digest: str
    media_type: str
    blobs: int = 0
    bytes: int = 0

    def line(self):
        ref = f"{self.repository}:{self.tag}" if self.tag else self.repository
        return f"imported {ref} {self.digest} ({self.blobs} blob(s), {self.bytes} bytes)"


# --- sources ---------------------------------------------------------------------------------


class _Counting:
    """A read()-able wrapper that reports bytes read to a progress bar."""

    def __init__(self, raw, progress):
        self.raw, self.progress = raw, progress

    def read(self, size=-1):
        data = self.raw.read(size)
        self.progress.update(len(data))
        return data


def _blocks(fileobj, size, head):
    left = size
    while left > 0:
        block = fileobj.read(min(BLOCK, left))
        if not block:
            raise ArchiveError("archive member ended early")
        if not head:
            head.append(block[:8])
        left -= len(block)
        yield block


class Source:
    """Where an archive's documents and blobs come from; staging sessions are tracked for cleanup."""

    def __init__(self):
        self.staged = {}  # digest -> Staged
        self.committed = set()

    def stage(self, fileobj, size):
        upload = uploads.start(STAGING_NAME)
        head = []
        try:
            written = upload_staging.append(upload.uuid, 0, _blocks(fileobj, size, head))
            digest = upload_staging.digest_of(upload.uuid, written)
        except BaseException:
            uploads.cancel(upload)
            raise
        Upload.objects.filter(pk=upload.pk).update(offset=written)
        upload.offset = written
        found = Staged(upload, digest, written, head[0] if head else b"")
        previous = self.staged.get(digest)
        if previous is not None:  # the same bytes twice: keep one session
            uploads.cancel(upload)
            return previous
        self.staged[digest] = found
        return found

    def stage_bytes(self, data):
        digest = digests.of_bytes(data)
        return self.staged.get(digest) or self.stage(io.BytesIO(data), len(data))

    def commit(self, repository, staged):
        """Make the staged blob a blob of `repository` (link only, once its bytes are committed)."""
        if staged.digest in self.committed:
            blobs.link(repository, staged.digest, staged.size)
            return
        Upload.objects.filter(pk=staged.upload.pk).update(repository_name=repository)
        staged.upload.repository_name = repository
        uploads.commit(staged.upload, staged.digest, staged.size)
        self.committed.add(staged.digest)

    def cleanup(self):
        for staged in self.staged.values():
            if staged.digest not in self.committed:
                uploads.cancel(staged.upload)

    # implemented by subclasses
    def document(self, name):
        raise NotImplementedError

    def member(self, name):
        raise NotImplementedError

    def has(self, name):
        raise NotImplementedError

    def blob_document(self, digest):
        try:
            return self.document(fmt.blob_path(digest))
        except ArchiveError:
            raise ArchiveError(f"manifest {digest} is not in the archive") from None

    def blob(self, digest):
        staged = self.staged.get(digest)
        if staged is None:
            staged = self.member(fmt.blob_path(digest))
        if staged.digest != digest:
            raise ArchiveError(f"{fmt.blob_path(digest)} does not hash to its name ({staged.digest})")
        return staged


class TarSource(Source):
    """A tarball read once, in order; blobs and layers are staged as they pass."""

    def __init__(self, fileobj, progress=NullProgress, total=None):
        super().__init__()
        self.documents, self.by_name, self.links = {}, {}, {}
        bar = progress("reading", total, "B")
        try:
            with tarfile.open(fileobj=_Counting(fileobj, bar), mode="r|*") as tar:
                for info in tar:
                    self._take(tar, info)
        except tarfile.TarError as exc:
            self.cleanup()
            raise ArchiveError(f"not a readable tar archive: {exc}") from None
        except BaseException:
            self.cleanup()
            raise
        finally:
            bar.close()

    def _take(self, tar, info):
        name = fmt.normalize(info.name)
        if info.issym() or info.islnk():
            target = info.linkname if info.islnk() else os.path.join(os.path.dirname(name), info.linkname)
            self.links[name] = fmt.normalize(target)
            return
        if not info.isfile():
            return
        fileobj = tar.extractfile(info)
        if fmt.is_staged(name):
            if fmt.is_document(name, info.size):
                data = fileobj.read()
                self.documents[name] = data
                self.by_name[name] = self.stage_bytes(data)
            else:
                self.by_name[name] = self.stage(fileobj, info.size)
        elif fmt.is_document(name, info.size):
            self.documents[name] = fileobj.read()

    def _resolve(self, name):
        name = fmt.normalize(name)
        for _ in range(20):
            if name not in self.links:
                return name
            name = self.links[name]
        raise ArchiveError(f"link loop at {name}")

    def has(self, name):
        name = self._resolve(name)
        return name in self.documents or name in self.by_name

    def document(self, name):
        resolved = self._resolve(name)
        if resolved not in self.documents:
            raise ArchiveError(f"{name} is missing from the archive (or too large to be a document)")
        return self.documents[resolved]

    def member(self, name):
        resolved = self._resolve(name)
        if resolved in self.by_name:
            return self.by_name[resolved]
        if resolved in self.documents:
            return self.stage_bytes(self.documents[resolved])
        raise ArchiveError(f"{name} is missing from the archive")


class DirSource(Source):
    """An OCI image layout (or an unpacked docker save) folder, read file by file."""

    def __init__(self, root, progress=NullProgress):
        super().__init__()
        self.root = Path(root).resolve()
        self.progress = progress

    def _path(self, name):
        path = (self.root / fmt.normalize(name)).resolve()
        if self.root not in path.parents and path != self.root:
            raise ArchiveError(f"{name} points outside {self.root}")
        return path

    def has(self, name):
        return self._path(name).is_file()

    def document(self, name):
        path = self._path(name)
        if not path.is_file() or path.stat().st_size > fmt.SMALL:
            raise ArchiveError(f"{name} is missing from {self.root} (or too large to be a document)")
        return path.read_bytes()

    def member(self, name):
        path = self._path(name)
        if not path.is_file():
            raise ArchiveError(f"{name} is missing from {self.root}")
        size = path.stat().st_size
        bar = self.progress(name[-40:], size, "B")
        try:
            with open(path, "rb") as fh:
                return self.stage(_Counting(fh, bar), size)
        finally:
            bar.close()


def open_source(path, progress=NullProgress):
    if str(path) == "-":
        return TarSource(sys.stdin.buffer, progress)
    path = Path(path)
    if path.is_dir():
        return DirSource(path, progress)
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist")
    with open(path, "rb") as fh:
        return TarSource(fh, progress, total=path.stat().st_size)


# --- import ----------------------------------------------------------------------------------


def _targets_docker(entries, repository, tag, select):
    if repository:
        if select:
            chosen = [e for e in entries if any(_same_image(t, select) for t in e["RepoTags"])]
            if not chosen:
                raise ArchiveError(f"no image {select!r} in the archive (found {[e['RepoTags'] for e in entries]})")
        elif len(entries) > 1:
            raise ArchiveError(
                f"the archive holds {len(entries)} images, choose one: {[e['RepoTags'] for e in entries]}"
            )
        else:
            chosen = entries
        entry = chosen[0]
        own = fmt.split_image_name(entry["RepoTags"][0])[1] if entry["RepoTags"] else "latest"
        return [(entry, repository, tag or own)]
    targets = []
    for entry in entries:
        for repo_tag in entry["RepoTags"]:
            targets.append((entry, *fmt.split_image_name(repo_tag)))
    return targets


def _same_image(repo_tag, wanted):
    return repo_tag == wanted or fmt.split_image_name(repo_tag) == fmt.split_image_name(wanted)


def _import_docker(source, entry, repository, tag):
    config = source.document(entry["Config"])
    config_staged = source.member(entry["Config"]) if source.has(entry["Config"]) else source.stage_bytes(config)
    config_json = fmt.loads(config, entry["Config"])
    diff_ids = ((config_json.get("rootfs") or {}).get("diff_ids")) or []
    layers = [source.member(name) for name in entry["Layers"]]
    if len(diff_ids) != len(layers):
        raise ArchiveError(f"config lists {len(diff_ids)} diff_ids for {len(layers)} layers")
    described = []
    for staged, diff_id in zip(layers, diff_ids, strict=True):
        media_type = fmt.layer_media_type(staged.head)
        if media_type == fmt.DOCKER_LAYER and staged.digest != diff_id:
            raise ArchiveError(f"layer {staged.digest} does not match the config's diff_id {diff_id}")
        described.append((staged.digest, staged.size, media_type))
    for staged in [config_staged, *layers]:
        source.commit(repository, staged)
    data = fmt.docker_manifest((config_staged.digest, config_staged.size), described)
    manifest, _ = manifests.put(repository, tag, data, manifest_formats.DOCKER_MANIFEST)
    total = config_staged.size + sum(s.size for s in layers)
    return Imported(repository, tag, manifest.digest, manifest.media_type, 1 + len(layers), total)


def _push_oci(source, repository, descriptor, tag, counts):
    """Push a manifest from the layout (children and blobs first); returns the Manifest."""
    digest = descriptor["digest"]
    data = source.blob_document(digest)
    if digests.of_bytes(data, digests.parse(digest)[0]) != digest:
        raise ArchiveError(f"manifest {digest} does not hash to its name")
    parsed = manifest_formats.parse(data, descriptor.get("mediaType", ""))
    for child in parsed.children:
        _push_oci(source, repository, {"digest": child.digest, "mediaType": child.media_type}, "", counts)
    for d in [parsed.config, *parsed.layers] if parsed.config else list(parsed.layers):
        staged = source.blob(d.digest)
        source.commit(repository, staged)
        counts[0] += 1
        counts[1] += staged.size
    manifest, _ = manifests.put(repository, tag or digest, data, parsed.media_type)
    return manifest


def _targets_oci(index, repository, tag, select):
    if repository:
        entries = [d for d in index["manifests"] if isinstance(d, dict)]
        wanted = select or (tag if len(entries) > 1 else "")
        descriptor = fmt.select(index, wanted)
        own = fmt.ref_name(descriptor)
        own_tag = fmt.split_image_name(own)[1] if own and ("/" in own or ":" in own) else own
        return [(descriptor, repository, tag or own_tag or "latest")]
    targets = []
    for d in index["manifests"]:
        name = (d.get("annotations") or {}).get(fmt.CONTAINERD_NAME) or fmt.ref_name(d)
        if name and ("/" in name or ":" in name):
            targets.append((d, *fmt.split_image_name(name)))
    return targets


def _in_namespace(targets, namespace):
    """Batch imports under a namespace: `library/foo` -> `<namespace>/foo`, `team/app` -> `<namespace>/team/app`."""
    if not namespace:
        return targets
    out = []
    for first, repo, tag in targets:
        repo = f"{namespace.strip('/')}/{repo.removeprefix(references.DEFAULT_NAMESPACE + '/')}"
        references.validate_name(repo)
        out.append((first, repo, tag))
    return out


def import_archive(path, repository="", tag="", select="", namespace="", progress=NullProgress):
    """Import one image (into `repository`[:`tag`]) or, without a repository, every named image.

    Returns [Imported]. Raises ArchiveError for unusable archives, RegistryError for registry refusals.
    """
    if repository:
        references.validate_name(repository)
        if tag:
            references.validate_tag(tag)
    source = open_source(path, progress)
    try:
        done = []
        if source.has("index.json") and not _docker_only(source):
            index = fmt.oci_index(source.document("index.json"))
            targets = _in_namespace(_targets_oci(index, repository, tag, select), "" if repository else namespace)
            if not targets:
                raise ArchiveError("no image in index.json has a name (give REPO[:TAG])")
            for descriptor, repo, image_tag in targets:
                counts = [0, 0]
                manifest = _push_oci(source, repo, descriptor, image_tag, counts)
                done.append(Imported(repo, image_tag, manifest.digest, manifest.media_type, *counts))
        elif source.has("manifest.json"):
            entries = fmt.docker_entries(source.document("manifest.json"))
            targets = _in_namespace(_targets_docker(entries, repository, tag, select), "" if repository else namespace)
            if not targets:
                raise ArchiveError("no image in manifest.json has a RepoTag (give REPO[:TAG])")
            for entry, repo, image_tag in targets:
                done.append(_import_docker(source, entry, repo, image_tag))
        else:
            raise ArchiveError("neither a docker save tarball (manifest.json) nor an OCI layout (index.json)")
        return done
    finally:
        source.cleanup()


def _docker_only(source):
    """docker 25+ writes both; its manifest.json names the tags, its index.json may not."""
    if not source.has("manifest.json"):
        return False
    index = fmt.oci_index(source.document("index.json"))
    return not any(fmt.ref_name(d) for d in index["manifests"] if isinstance(d, dict))


ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".oci", ".oci.tar")


def find_archives(paths, recursive=True):
    """Files and OCI layout folders among `paths` (folders are searched for archives)."""
    found = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not (path / "index.json").is_file() and not (path / "manifest.json").is_file():
            children = sorted(path.rglob("*") if recursive else path.iterdir())
            for child in children:
                if child.is_file() and child.name.endswith(ARCHIVE_SUFFIXES):
                    found.append(child)
                elif child.is_dir() and (child / "oci-layout").is_file():
                    found.append(child)
        else:
            found.append(path)
    return found


def import_many(paths, namespace="", progress=NullProgress, on_result=None):
    """The batch form (what push_images.sh did): every named image of every archive; errors don't stop it."""
    results = []
    for path in find_archives(paths):
        try:
            outcome = (path, import_archive(path, namespace=namespace, progress=progress), None)
        except (ArchiveError, RegistryError, OSError) as exc:
            outcome = (path, [], exc)
        results.append(outcome)
        if on_result:
            on_result(*outcome)
    return results


# --- export ----------------------------------------------------------------------------------


@dataclass
class Exported:
    dest: str
    format: str
    digest: str
    blobs: int = 0
    bytes: int = 0
    repo_tags: list = field(default_factory=list)

    def line(self):
        return f"exported {self.digest} to {self.dest} ({self.format}, {self.blobs} blob(s), {self.bytes} bytes)"


class _ProgressReader:
    def __init__(self, raw, bar):
        self.raw, self.bar = raw, bar

    def read(self, size=-1):
        data = self.raw.read(size)
        self.bar.update(len(data))
        return data


def _blob_row(digest):
    blob = Blob.objects.filter(digest=digest).first()
    if blob is None or not blobstore.exists(digest):
        raise ArchiveError(f"blob {digest} is missing from the registry")
    return blob


def _image_for_platform(repository, manifest, platform):
    if manifest.media_type not in manifest_formats.INDEX_TYPES:
        return manifest
    os_name, _, arch = platform.partition("/")
    arch, _, variant = arch.partition("/")
    for child in manifest.children.all():
        p = child.platform or {}
        if p.get("os") == os_name and p.get("architecture") == arch and (not variant or p.get("variant") == variant):
            return manifests.get(repository, child.digest)
    raise ArchiveError(f"{manifest.digest} has no {platform} image (use --platform)")


def _add(tar, name, size, fileobj):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    tar.addfile(info, fileobj)


def _add_bytes(tar, name, data):
    _add(tar, name, len(data), io.BytesIO(data))


def _add_blob(tar, name, blob, bar):
    with blobstore.open_blob(blob.digest) as fh:
        _add(tar, name, blob.size, _ProgressReader(fh, bar))


def _open_dest(dest):
    if str(dest) == "-":
        return sys.stdout.buffer, False
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    return open(f"{dest}.partial", "wb"), True


def _finish_dest(dest, fh, owned, ok):
    if not owned:
        fh.flush()
        return
    fh.close()
    if ok:
        os.replace(f"{dest}.partial", dest)
    elif os.path.exists(f"{dest}.partial"):
        os.unlink(f"{dest}.partial")


def export_docker(repository, reference, dest, platform="linux/amd64", repo_tags=None, progress=NullProgress):
    """A tarball `docker load` takes: manifest.json, <config hex>.json, <layer hex>/layer.tar."""
    top = manifests.get(repository, reference)
    image = _image_for_platform(repository, top, platform)
    parsed = manifest_formats.parse(bytes(image.payload), image.media_type)
    if parsed.config is None:
        raise ArchiveError(f"{image.digest} is not an image manifest")
    config = _blob_row(parsed.config.digest)
    layers, seen = [], set()
    for d in parsed.layers:
        blob = _blob_row(d.digest)
        layers.append(blob)
    kind, value = references.split_reference(reference)
    if repo_tags is None:
        repo_tags = [f"{repository.removeprefix('library/')}:{value}"] if kind == "tag" else []
    config_name = f"{config.digest.split(':', 1)[1]}.json"
    layer_names = [f"{blob.digest.split(':', 1)[1]}/layer.tar" for blob in layers]
    total = config.size + sum(b.size for b in {b.digest: b for b in layers}.values())
    bar = progress("writing", total, "B")
    fh, owned = _open_dest(dest)
    ok = False
    try:
        with tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, "manifest.json", fmt.docker_load_manifest(config_name, repo_tags, layer_names))
            _add_blob(tar, config_name, config, bar)
            for blob, name in zip(layers, layer_names, strict=True):
                if blob.digest in seen:
                    continue
                seen.add(blob.digest)
                info = tarfile.TarInfo(name.split("/", 1)[0])
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                tar.addfile(info)
                _add_blob(tar, name, blob, bar)
        ok = True
    finally:
        bar.close()
        _finish_dest(dest, fh, owned, ok)
    return Exported(str(dest), "docker-archive", image.digest, 1 + len(seen), total, repo_tags)


def _oci_contents(repository, manifest, out):
    """Fill out {digest: (size, bytes or Blob)} with the manifest, its children, configs and layers."""
    data = bytes(manifest.payload)
    out[manifest.digest] = (manifest.size, data)
    parsed = manifest_formats.parse(data, manifest.media_type)
    for child in parsed.children:
        _oci_contents(repository, manifests.get(repository, child.digest), out)
    for d in [parsed.config, *parsed.layers] if parsed.config else list(parsed.layers):
        if d.digest not in out:
            blob = _blob_row(d.digest)
            out[d.digest] = (blob.size, blob)


def export_oci(repository, reference, dest, archive=False, ref_name=None, progress=NullProgress):
    """An OCI image layout folder (merged into an existing one), or the same as an oci-archive tarball."""
    top = manifests.get(repository, reference)
    contents = {}
    _oci_contents(repository, top, contents)
    kind, value = references.split_reference(reference)
    ref_name = ref_name if ref_name is not None else (value if kind == "tag" else "")
    entry = {"mediaType": top.media_type, "digest": top.digest, "size": top.size}
    if ref_name:
        entry["annotations"] = {fmt.REF_NAME: ref_name}
    total = sum(size for size, _ in contents.values())
    bar = progress("writing", total, "B")
    try:
        if archive:
            _write_oci_archive(dest, contents, [entry], bar)
        else:
            _write_oci_dir(Path(dest), contents, entry, bar)
    finally:
        bar.close()
    return Exported(str(dest), "oci-archive" if archive else "oci", top.digest, len(contents), total)


def _write_oci_archive(dest, contents, entries, bar):
    fh, owned = _open_dest(dest)
    ok = False
    try:
        with tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, "oci-layout", json.dumps(fmt.LAYOUT_VERSION).encode())
            _add_bytes(tar, "index.json", fmt.layout_index(entries))
            for digest, (size, source) in contents.items():
                if isinstance(source, bytes):
                    _add_bytes(tar, fmt.blob_path(digest), source)
                    bar.update(size)
                else:
                    _add_blob(tar, fmt.blob_path(digest), source, bar)
        ok = True
    finally:
        _finish_dest(dest, fh, owned, ok)


def _write_oci_dir(root, contents, entry, bar):
    root.mkdir(parents=True, exist_ok=True)
    for digest, (size, source) in contents.items():
        path = root / fmt.blob_path(digest)
        if path.is_file() and path.stat().st_size == size:
            bar.update(size)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as out:
            if isinstance(source, bytes):
                out.write(source)
                bar.update(size)
            else:
                for block in blobstore.read_blob(digest):
                    out.write(block)
                    bar.update(len(block))
        os.replace(partial, path)
    (root / "oci-layout").write_text(json.dumps(fmt.LAYOUT_VERSION))
    index_path = root / "index.json"
    entries = []
    if index_path.is_file():
        entries = fmt.oci_index(index_path.read_bytes())["manifests"]
    name = fmt.ref_name(entry)
    entries = [e for e in entries if not (name and fmt.ref_name(e) == name) and e.get("digest") != entry["digest"]]
    entries.append(entry)
    index_path.write_bytes(fmt.layout_index(entries))


def export_image(repository, reference, dest, format=None, platform="linux/amd64", progress=NullProgress, **kw):  # noqa: A002
    """Export by format name: docker-archive (default for files), oci (default for folders), oci-archive."""
    if format is None:
        dest_path = Path(str(dest))
        is_dir = str(dest).endswith("/") or dest_path.is_dir()
        format = "oci" if is_dir else "docker-archive"
    if format == "docker-archive":
        return export_docker(repository, reference, dest, platform, progress=progress, **kw)
    if format in ("oci", "oci-archive"):
        return export_oci(repository, reference, dest, archive=format == "oci-archive", progress=progress)
    raise ArchiveError(f"unknown format {format!r} (docker-archive, oci, oci-archive)")
