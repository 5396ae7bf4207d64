"""Manifests: push (validated against what the repository holds), fetch, delete."""

import threading
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from activity import pulls, recorder
from images import digests, manifest_formats, references
from images.conf import registry_setting
from images.errors import (
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestUnknown,
    NameUnknown,
    PayloadTooLarge,
    TagInvalid,
)
from images.models import (
    Manifest,
    ManifestChild,
    ManifestLayer,
    Repository,
    RepositoryBlob,
    RepositoryManifest,
    Tag,
)
from images.services import manifest_bodies as bodies
from images.services import notifications, prepared, read_cache, repositories
from policies import hooks as policy_hooks
from proxy import access as proxy_access
from replication import triggers as replication_triggers

# A pull writes the repository's last_pull_at at most this often.
PULL_TIME_RESOLUTION = timedelta(seconds=60)


def put(repository_name, reference, data, content_type):
    """Store a manifest under a tag or digest; returns (Manifest, ParsedManifest)."""
    if len(data) > registry_setting("MAX_MANIFEST_BYTES"):
        raise PayloadTooLarge(
            "manifest exceeds the size limit", detail={"limit": registry_setting("MAX_MANIFEST_BYTES")}
        )
    kind, value = references.split_reference(reference)
    proxy_access.refuse_push(repository_name)
    parsed = manifest_formats.parse(data, content_type)
    if kind == "digest":
        algorithm, _ = digests.parse(value)
        if digests.of_bytes(data, algorithm) != value:
            raise DigestInvalid("manifest digest does not match the reference", detail={"digest": value})
    with transaction.atomic():
        repo = repositories.get_or_create(repository_name)
        _check_references(repo, parsed)
        manifest = _store(parsed, data)
        RepositoryManifest.objects.get_or_create(repository=repo, manifest=manifest)
        policy_hooks.check_tag_push(repo, value if kind == "tag" else "", manifest)  # immutable tags (policies/)
        recorder.manifest_pushed(repo, manifest, value if kind == "tag" else "")
        if kind == "tag":
            # A tag pushed over v2 no longer names the v1 image it may have named before.
            Tag.objects.update_or_create(
                repository=repo, name=value, defaults={"manifest": manifest, "v1_image": None, "v1_metadata": {}}
            )
        repositories.touch_push(repo)
        notifications.emit("push", repo.name, manifest, tag=value if kind == "tag" else "")
        replication_triggers.pushed(repo.name)  # replication/triggers.py: push rules, after commit
    return manifest, parsed


def _check_references(repo, parsed):
    blob_digests = {d.digest for d in parsed.layers}
    if parsed.config:
        blob_digests.add(parsed.config.digest)
    if blob_digests:
        present = set(
            RepositoryBlob.objects.filter(repository=repo, blob__digest__in=blob_digests).values_list(
                "blob__digest", flat=True
            )
        )
        missing = sorted(blob_digests - present)
        if missing:
            raise ManifestBlobUnknown(detail={"digests": missing})
    child_digests = {d.digest for d in parsed.children}
    if child_digests:
        present = set(
            RepositoryManifest.objects.filter(repository=repo, manifest__digest__in=child_digests).values_list(
                "manifest__digest", flat=True
            )
        )
        missing = sorted(child_digests - present)
        if missing:
            raise ManifestUnknown(
                "manifest references manifests unknown to the repository", detail={"digests": missing}
            )


def _store(parsed, data):
    # Locked: the collector deletes unreferenced Manifest rows under the same lock, re-checking first.
    existing = Manifest.objects.select_for_update().filter(digest=parsed.digest).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            manifest = Manifest.objects.create(
                digest=parsed.digest,
                media_type=parsed.media_type,
                payload=data,
                size=len(data),
                config_digest=parsed.config.digest if parsed.config else "",
                config_media_type=parsed.config.media_type if parsed.config else "",
                artifact_type=parsed.effective_artifact_type,
                subject_digest=parsed.subject.digest if parsed.subject else "",
                annotations=parsed.annotations,
            )
            _store_references(manifest, parsed)
            return manifest
    except IntegrityError:  # the same manifest pushed concurrently into another repository
        return Manifest.objects.select_for_update().get(digest=parsed.digest)


def _store_references(manifest, parsed):
    layers = [
        ManifestLayer(manifest=manifest, position=i, digest=d.digest, size=d.size, media_type=d.media_type)
        for i, d in enumerate(parsed.layers)
    ]
    if parsed.config:
        c = parsed.config
        layers.append(
            ManifestLayer(manifest=manifest, position=-1, digest=c.digest, size=c.size, media_type=c.media_type)
        )
    ManifestLayer.objects.bulk_create(layers)
    ManifestChild.objects.bulk_create(
        ManifestChild(
            parent=manifest, position=i, digest=d.digest, size=d.size, media_type=d.media_type, platform=d.platform
        )
        for i, d in enumerate(parsed.children)
    )


def _lookup_reference(reference):
    """A reference that can't name anything is simply unknown when reading."""
    try:
        return references.split_reference(reference)
    except (DigestInvalid, TagInvalid):
        raise ManifestUnknown(detail={"reference": reference[:200]}) from None


# Read by every pull (GET and HEAD), so compiled once per process (images/services/prepared.py). Each
# lookup exists with and without the payload: a body this process holds already (images/services/
# manifest_bodies.py, by digest) is not read again; the lookup itself runs at every request the read cache
# cannot answer (images/services/read_cache.py), and is what says that the tag or digest still names the
# manifest in the repository.
_READ_FIELDS = (
    "id",
    "digest",
    "media_type",
    "size",
    "config_digest",
    "config_media_type",
    "artifact_type",
    "subject_digest",
)
_WITH_BODY = (*_READ_FIELDS[:3], "payload", *_READ_FIELDS[3:])  # the body at index 3 (_find takes it out)


def _by_tag(fields):
    return prepared.Prepared(
        lambda repository, value: Manifest.objects.filter(
            tags__repository__name=repository, tags__name=value
        ).values_list(*fields)[:1],
        "repository",
        "value",
    )


def _by_digest(fields):
    return prepared.Prepared(
        lambda repository, value: Manifest.objects.filter(
            digest=value, repository_links__repository__name=repository
        ).values_list(*fields)[:1],
        "repository",
        "value",
    )


_LOOKUPS = {
    ("tag", False): _by_tag(_READ_FIELDS),
    ("tag", True): _by_tag(_WITH_BODY),
    ("digest", False): _by_digest(_READ_FIELDS),
    ("digest", True): _by_digest(_WITH_BODY),
}


def get(repository_name, reference):
    """The manifest a tag or digest names in the repository, or MANIFEST_UNKNOWN. At most one query: the
    lookup's row comes from the read cache while nothing changed (images/services/read_cache.py), the body
    with the row unless this process holds it already (then only after a tag moved to a body it lacks)."""
    kind, value = _lookup_reference(reference)
    key = ("manifest", repository_name, kind, value)
    row = read_cache.lookup(key, lambda: _find(repository_name, kind, value))
    if row is None:
        repositories.get(repository_name)  # NAME_UNKNOWN first, when the repository itself is missing
        raise ManifestUnknown(detail={"reference": reference})
    manifest = Manifest.from_db("default", _READ_FIELDS, row)
    manifest.payload = bodies.get(manifest)
    if kind == "tag":
        bodies.note_tag(repository_name, value, manifest.digest)
    return manifest


def _find(repository_name, kind, value):
    """The lookup's row (_READ_FIELDS), keeping the body when it came with it; None when nothing matches."""
    expected = value if kind == "digest" else bodies.last_digest(repository_name, value)
    with_body = not bodies.holds(expected)
    rows = _LOOKUPS[kind, with_body].rows(repository=repository_name, value=value)
    if not rows:
        return None
    row = rows[0]
    if not with_body:
        return row
    bodies.keep(row[1], bytes(row[3]))
    return row[:3] + row[4:]


def platform_child(repository_name, index, wanted=("linux", "amd64")):
    """For clients that can't read an index: the child for the default platform, if present."""
    for child in index.children.all():
        platform = child.platform or {}
        if (platform.get("os"), platform.get("architecture")) == wanted:
            try:
                return get(repository_name, child.digest)
            except ManifestUnknown:
                return None
    return None


def record_pull(repository_name, manifest, reference):
    """A client fetched the manifest: metrics now; last pull time, pull counts and `pull` notifications off
    the request path.

    A GET stays one query: the counts add up in this process and are written, with last_pull_at, by the
    bookkeeping that runs in the notifications pool (inline with WEBHOOK_SYNC) at most once a minute per
    repository. A tag counts each GET by its name; the repository counts image manifests fetched (an index
    is not an image: `docker pull` of a multi-platform tag counts once, for the platform's image).
    """
    kind, value = _lookup_reference(reference)
    _count_pull(
        repository_name, value if kind == "tag" else "", manifest.media_type not in manifest_formats.INDEX_TYPES
    )
    also = _touch_pull if _pull_time_due(repository_name) else None
    also = policy_hooks.with_tag_pull(also, repository_name, value if kind == "tag" else "")  # retention's pull time
    also = pulls.note(repository_name, manifest.digest, value if kind == "tag" else "", also)
    notifications.emit_pull(repository_name, manifest, tag=value if kind == "tag" else "", also=also)


_last_pull_written = {}
# {repository name: {"": image pulls, tag name: pulls by that tag}} not yet written.
_pending_pulls = {}
_pending_lock = threading.Lock()


def _count_pull(repository_name, tag, is_image):
    with _pending_lock:
        counts = _pending_pulls.setdefault(repository_name, {})
        if is_image:
            counts[""] = counts.get("", 0) + 1
        if tag:
            counts[tag] = counts.get(tag, 0) + 1


def _pull_time_due(repository_name):
    last = _last_pull_written.get(repository_name)
    return last is None or timezone.now() - last >= PULL_TIME_RESOLUTION


def _touch_pull(repository_name):
    if not _pull_time_due(repository_name):
        return
    now = timezone.now()
    _last_pull_written[repository_name] = now
    Repository.objects.filter(name=repository_name).filter(
        Q(last_pull_at__isnull=True) | Q(last_pull_at__lt=now - PULL_TIME_RESOLUTION)
    ).update(last_pull_at=now)
    _write_pull_counts(repository_name)


def _write_pull_counts(repository_name):
    with _pending_lock:
        counts = _pending_pulls.pop(repository_name, {})
    images = counts.pop("", 0)
    if images:
        Repository.objects.filter(name=repository_name).update(pull_count=F("pull_count") + images)
    for tag, tag_pulls in counts.items():
        Tag.objects.filter(repository__name=repository_name, name=tag).update(pull_count=F("pull_count") + tag_pulls)


def delete(repository_name, reference):
    """By tag: untag. By digest: remove the manifest and its tags from the repository."""
    kind, value = _lookup_reference(reference)
    repo = repositories.get(repository_name)
    with transaction.atomic():
        policy_hooks.check_delete(repo, **({"tags": [value]} if kind == "tag" else {"digests": [value]}))
        if kind == "tag":
            tag = Tag.objects.select_related("manifest").filter(repository=repo, name=value).first()
            deleted, _ = Tag.objects.filter(repository=repo, name=value).delete()
            if deleted and tag is not None:
                recorder.tag_removed(repo.name, value, tag.manifest.digest)
                notifications.emit("delete", repo.name, tag.manifest, tag=value)
        else:
            recorder.manifest_deleting(repo, value)
            Tag.objects.filter(repository=repo, manifest__digest=value).delete()
            manifest = Manifest.objects.filter(digest=value).first()
            deleted, _ = RepositoryManifest.objects.filter(repository=repo, manifest__digest=value).delete()
            if deleted and manifest is not None:
                notifications.emit("delete", repo.name, manifest)
    if not deleted:
        raise ManifestUnknown(detail={"reference": reference})
    replication_triggers.deleted(repo.name, value)  # push rules with `deletes`, after commit


def referrers(repository_name, digest, artifact_type=None):
    """Manifests in the repository whose subject is `digest`, as index descriptors."""
    digests.parse(digest)
    qs = Manifest.objects.filter(subject_digest=digest, repository_links__repository__name=repository_name)
    if artifact_type and "\x00" in artifact_type:
        return []  # no artifact type holds NUL (and PostgreSQL can't compare it)
    if artifact_type:
        qs = qs.filter(artifact_type=artifact_type)
    out = []
    for m in qs.order_by("created_at", "id"):
        entry = {"mediaType": m.media_type, "digest": m.digest, "size": m.size}
        if m.artifact_type:
            entry["artifactType"] = m.artifact_type
        if m.annotations:
            entry["annotations"] = m.annotations
        out.append(entry)
    return out


def delete_many(repository_name, tags=(), digests=()):
    """`delete` for many references of one repository at once (retention, policies/): the same rules and
    events (a `delete` per tag and per manifest), set-based queries, one transaction. Returns the counts."""
    tags, digests = sorted(set(tags)), sorted(set(digests))
    with transaction.atomic():
        repo = Repository.objects.select_for_update().filter(name=repository_name).first()
        if repo is None:
            raise NameUnknown(detail={"name": repository_name})
        policy_hooks.check_delete(repo, tags=tags, digests=digests)
        gone_tags = list(
            Tag.objects.filter(repository=repo, name__in=tags)
            .select_related("manifest")
            .only("name", "manifest__digest", "manifest__media_type", "manifest__size")
        )
        Tag.objects.filter(pk__in=[t.pk for t in gone_tags]).delete()
        Tag.objects.filter(repository=repo, manifest__digest__in=digests).delete()
        gone = list(
            Manifest.objects.filter(digest__in=digests, repository_links__repository=repo).only(
                "digest", "media_type", "size"
            )
        )
        RepositoryManifest.objects.filter(repository=repo, manifest__in=gone).delete()
        targets = [(tag.manifest, tag.name) for tag in gone_tags] + [(manifest, "") for manifest in gone]
        notifications.emit_many("delete", repo.name, targets)
    return {"tags": len(gone_tags), "manifests": len(gone)}
