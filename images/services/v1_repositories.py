"""v1 repositories: name mapping, the image index, tags, metadata, properties, delete.

A tag PUT over v1 becomes a Docker schema 2 manifest (config built from the v1
JSON chain) stored through the manifests service, so docker pull over v2 works;
the Tag row keeps the v1 image too. Tags pushed over v2 show over v1 with the id
docker shows for them (the config digest hex).
"""

import json

from django.db import transaction

from activity import recorder
from images import manifest_formats, v1_format
from images.errors import DataInvalid, ImageIncomplete, ImageUnknown, NameInvalid, NameUnknown, TagUnknown
from images.models import Manifest, ManifestChild, Repository, RepositoryBlob, Tag, V1Image, V1RepositoryImage
from images.services import manifests, repositories, v1_images
from policies import hooks as policy_hooks
from proxy import access as proxy_access


def find(path):
    """The repository a v1 path names (`foo` = `library/foo`, or a v2-pushed `foo`), or None."""
    if "\x00" in path:  # no repository name holds NUL (and PostgreSQL can't even compare one)
        return None
    candidates = v1_format.repository_candidates(path)
    found = {repo.name: repo for repo in Repository.objects.filter(name__in=candidates)}
    return next((found[name] for name in candidates if name in found), None)


def get(path, message="Repository not found"):
    repo = find(path)
    if repo is None:
        raise NameUnknown(message, detail={"name": path[:300]})
    return repo


def canonical_name(path):
    """The registry name a v1 path refers to: an existing repository's, else `library/`-qualified."""
    repo = find(path)
    return repo.name if repo else v1_format.repository_candidates(path)[0]


def get_or_create(path):
    """The repository a v1 push writes (index or tag PUT), its row locked; DENIED naming the upstream for a cache."""
    name = canonical_name(path)
    proxy_access.refuse_push(name)
    try:
        return repositories.get_or_create(name)
    except NameInvalid:
        raise NameInvalid("Invalid repository name", detail={"name": name[:300]}) from None


def put_index(path, raw, unreadable=v1_images.nothing_hidden):
    """PUT /v1/repositories/<repo>/[images]: merge the declared images into the index.

    `unreadable(ids)` names the existing images the pusher may not read: they are left out.
    """
    entries = v1_format.parse_index(raw)
    hidden = unreadable([image_id for image_id, _ in entries])
    entries = [(image_id, checksum) for image_id, checksum in entries if image_id not in hidden]
    with transaction.atomic():
        repo = get_or_create(path)
        ids = [image_id for image_id, _ in entries]
        known = {e.image_id: e for e in V1RepositoryImage.objects.filter(repository=repo, image_id__in=ids)}
        V1RepositoryImage.objects.bulk_create(
            [V1RepositoryImage(repository=repo, image_id=i, checksum=c) for i, c in entries if i not in known],
            ignore_conflicts=True,
        )
        for image_id, checksum in entries:
            entry = known.get(image_id)
            if entry is not None and checksum and not entry.checksum:
                V1RepositoryImage.objects.filter(pk=entry.pk).update(checksum=checksum)
    return repo


def index(path):
    """[{"id", "checksum"?}] declared for the repository; 404 `images not found` if it is unknown."""
    repo = get(path, "images not found")
    rows = V1RepositoryImage.objects.filter(repository=repo).values_list("image_id", "checksum")
    return repo, [{"id": i, "checksum": c} if c else {"id": i} for i, c in rows]


def list_tags(path):
    repo = get(path)
    return _image_ids(Tag.objects.filter(repository=repo))


def get_tag(path, tag):
    repo = find(path)
    ids = _image_ids(Tag.objects.filter(repository=repo, name=tag)) if repo else {}
    if tag not in ids:
        raise TagUnknown()
    return ids[tag]


def _image_ids(tags):
    """{tag: v1 image id}; for tags pushed over v2 the image's config digest hex."""
    rows = list(
        tags.order_by("name").values_list(
            "name", "v1_image__image_id", "manifest__digest", "manifest__media_type", "manifest__config_digest"
        )
    )
    indexes = {d for _, v1_id, d, media_type, _ in rows if not v1_id and media_type in manifest_formats.INDEX_TYPES}
    platform_configs = _platform_configs(indexes) if indexes else {}
    return {
        name: v1_id or v1_format.image_id_of(platform_configs.get(digest) or config_digest, digest)
        for name, v1_id, digest, _, config_digest in rows
    }


def _platform_configs(index_digests, wanted=("linux", "amd64")):
    """{index digest: config digest of its linux/amd64 child} in two queries."""
    chosen = {}
    children = ManifestChild.objects.filter(parent__digest__in=index_digests).order_by("parent_id", "position")
    for parent, child, platform in children.values_list("parent__digest", "digest", "platform"):
        platform = platform or {}
        if parent not in chosen and (platform.get("os"), platform.get("architecture")) == wanted:
            chosen[parent] = child
    configs = dict(Manifest.objects.filter(digest__in=set(chosen.values())).values_list("digest", "config_digest"))
    return {parent: configs.get(child, "") for parent, child in chosen.items()}


def put_tag(path, tag, raw, user_agent="", unreadable=v1_images.nothing_hidden):
    """Tag a completed v1 image: build and store its schema 2 manifest, point the tag at both.

    An image whose chain holds one the pusher may not read (`unreadable(ids)`) is "not found".
    """
    v1_format.check_tag(tag)
    image_id = v1_format.loads(raw)
    if not image_id or not isinstance(image_id, str):
        raise DataInvalid("Invalid data")
    image = V1Image.objects.filter(image_id=image_id).first() if v1_format.is_image_id(image_id) else None
    if image is None or unreadable(image.ancestry or [image.image_id]):
        raise ImageUnknown()
    chain = _chain(image)
    config = v1_format.image_config([json.loads(bytes(i.json)) for i in chain], [i.diff_id for i in chain])
    config_blob = v1_images.store_bytes(config)
    manifest_bytes = v1_format.image_manifest(
        config_blob.digest, config_blob.size, [(i.layer.digest, i.layer.size) for i in chain]
    )
    with transaction.atomic():
        repo = get_or_create(path)
        RepositoryBlob.objects.bulk_create(
            [RepositoryBlob(repository=repo, blob=b) for b in {config_blob, *(i.layer for i in chain)}],
            ignore_conflicts=True,
        )
        manifest, _ = manifests.put(repo.name, tag, manifest_bytes, manifest_formats.DOCKER_MANIFEST)
        Tag.objects.filter(repository=repo, name=tag).update(
            v1_image=image, v1_metadata=v1_format.tag_metadata(user_agent)
        )
    return manifest


def _chain(image):
    """The image and its ancestors, base first, all complete; else 400 (being uploaded)."""
    rows = {i.image_id: i for i in V1Image.objects.select_related("layer").filter(image_id__in=image.ancestry)}
    chain = [rows.get(image_id) for image_id in reversed(image.ancestry)]
    if any(i is None or not i.completed or i.layer is None or not i.diff_id for i in chain):
        raise ImageIncomplete()
    return chain


def delete_tag(path, tag):
    repo = find(path)
    if repo:
        policy_hooks.check_delete(repo, tags=[tag])  # immutable tags stay (policies/)
    recorder.tag_deleting(repo, tag)
    deleted = Tag.objects.filter(repository=repo, name=tag).delete()[0] if repo else 0
    if not deleted:
        raise TagUnknown(f"Tag not found: {tag}")


def delete_repository(path):
    """All tags and the repository go (for both protocols); images and blobs stay for GC."""
    with transaction.atomic():
        repo = get(path)
        policy_hooks.check_delete(repo, all_tags=True)  # immutable tags stay (policies/)
        recorder.repository_deleting(repo.name)
        Repository.objects.filter(pk=repo.pk).delete()


def tag_metadata(path, tag):
    """GET .../tags/<tag>/json: what the pushing client's User-Agent said (defaults otherwise)."""
    data = dict(v1_format.DEFAULT_METADATA)
    repo = find(path)
    row = Tag.objects.filter(repository=repo, name=tag).first() if repo else None
    if row is not None:
        data.update(row.v1_metadata or {"last_update": int(row.updated_at.timestamp())})
    return data


def properties(path):
    return {"access": "public" if get(path).is_public else "private"}


def set_properties(path, raw):
    data = v1_format.loads(raw)
    if not data or not isinstance(data, dict) or data.get("access") not in ("public", "private"):
        raise DataInvalid("Invalid data")
    repo = get(path)
    Repository.objects.filter(pk=repo.pk).update(is_public=data["access"] == "public")
    recorder.visibility_changed(repo.name, data["access"] == "public")
