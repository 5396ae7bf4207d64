"""Tag history (every move of a tag, from the log) and restoring a tag to a manifest it named before.

A restore goes through the push path (images/services/manifests.put with the stored manifest bytes): the
same checks, the same repository lock, webhooks and (when they exist) immutable-tag policies apply, and the
log records it as `restore`.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from activity import conf, recorder
from activity.models import TAG_ACTIONS, Event
from images import digests, permissions
from images.errors import Denied, ManifestUnknown
from images.models import Manifest, RepositoryManifest, Tag
from images.services import manifests, repositories

HISTORY_LIMIT = 100


@dataclass
class Entry:
    event: Event
    restorable: bool
    protected: bool  # within BERTH_TAG_HISTORY_DAYS: garbage collection keeps the manifest
    current: bool
    why_not: str = ""


def tag_history(repository, tag, current=None, limit=HISTORY_LIMIT):
    """Newest first: every push, untag and restore of the tag, with whether its manifest can be restored.

    One query (two when `current`, the digest the tag names now, is not given)."""
    stored = RepositoryManifest.objects.filter(
        repository__name=OuterRef("repository"), manifest__digest=OuterRef("digest")
    )
    events = list(
        Event.objects.filter(repository=repository, tag=tag, action__in=TAG_ACTIONS)
        .annotate(stored=Exists(stored))
        .order_by("-at", "-id")[:limit]
    )
    if current is None:
        current = Tag.objects.filter(repository__name=repository, name=tag).values_list("manifest__digest", flat=True)
        current = current.first() or ""
    since = timezone.now() - timedelta(days=conf.tag_history_days())
    out = []
    for event in events:
        protected = event.at >= since
        why = ""
        if not event.stored:
            why = "The image was deleted" + ("" if protected else f" (older than {conf.tag_history_days()} days)")
            why += ": it can no longer be restored."
        is_current = event.digest == current and event.action != "untag"
        out.append(Entry(event, event.stored and event.action != "untag", protected, is_current, why))
    return out


def restore(principal, repository, tag, digest):
    """Point `tag` at `digest` again, as a push by `principal` would (None: an operator, e.g. the command)."""
    digests.parse(digest)  # DIGEST_INVALID for anything that can't be one
    repo = repositories.get(repository)
    if principal is not None and permissions.PUSH not in permissions.actions_for(principal, repo.name, repo):
        raise Denied("you may not push to this repository", detail={"repository": repo.name})
    manifest = Manifest.objects.filter(digest=digest, repository_links__repository=repo).first()
    if manifest is None:
        raise ManifestUnknown("the repository no longer holds this manifest", detail={"digest": digest[:200]})
    token = recorder._restoring.set({"actor": principal})
    try:
        stored, _ = manifests.put(repo.name, tag, bytes(manifest.payload), manifest.media_type)
    finally:
        recorder._restoring.reset(token)
    return stored
