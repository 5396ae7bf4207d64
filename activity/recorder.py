"""The activity log's one way in: `record(...)`, plus the hooks the registry, account and GC services call.

Other apps record their own actions with

    from activity.recorder import record
    record("policy_changed", repository="acme/app", category="settings", detail={"rule": "immutable"})

`record` takes the actor of the current request (or the principal you pass: a user or an
AccessToken; "system" outside a request), the client address and user agent, and writes one
Event row in the caller's transaction (a rolled-back push leaves no entry). Actions that move
a tag (`push`, `untag`, `restore` with a tag) form the tag history.
"""

import contextvars
import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from activity import conf, context
from activity.models import CONTENT, DENIED, FAILED, OK, SECURITY, SETTINGS, SYSTEM, TAG_ACTIONS, Event

log = logging.getLogger("berth.activity")
_restoring = contextvars.ContextVar("berth_activity_restoring", default=None)
LOGIN_SUCCESS_SECONDS = 600  # a successful login per principal and address is recorded at most this often
__all__ = ["record", "CONTENT", "SETTINGS", "SECURITY", "SYSTEM", "OK", "FAILED", "DENIED"]


def _namespace(repository):
    return repository.split("/", 1)[0] if "/" in repository else ""


def record(
    action,
    *,
    repository="",
    tag="",
    digest="",
    previous_digest="",
    outcome=OK,
    category=CONTENT,
    namespace=None,
    detail=None,
    actor=None,
    when=None,
):
    """Write one entry; `actor` is a user or AccessToken when the caller knows better than the request."""
    who = context.current(actor)
    return Event.objects.create(
        at=when or timezone.now(),
        action=action[:40],
        category=category,
        actor_kind=who.kind,
        actor=who.name[:200],
        token_prefix=who.token_prefix[:40],
        address=who.address,
        user_agent=who.user_agent,
        namespace=(_namespace(repository) if namespace is None else namespace)[:255],
        repository=repository[:255],
        tag=tag[:128],
        digest=digest[:200],
        previous_digest=previous_digest[:200],
        outcome=outcome,
        detail=detail or {},
    )


# --- registry content -------------------------------------------------------------------------


def manifest_pushed(repo, manifest, tag=""):
    """Before the tag is written (images/services/manifests.put): a push, or a restore, with what the tag named."""
    from images.models import Tag

    previous = ""
    if tag:
        previous = Tag.objects.filter(repository=repo, name=tag).values_list("manifest__digest", flat=True).first()
    restore = _restoring.get()
    record(
        "restore" if restore is not None else "push",
        repository=repo.name,
        tag=tag,
        digest=manifest.digest,
        previous_digest=previous or "",
        actor=restore["actor"] if restore else None,
        detail={"media_type": manifest.media_type, "size": manifest.size},
    )


def tag_removed(repository, tag, digest):
    record("untag", repository=repository, tag=tag, digest=digest, previous_digest=digest)


def manifest_deleting(repo, digest):
    """Before a delete by digest: each tag it removes, then the delete itself (when the repository holds it)."""
    from images.models import RepositoryManifest, Tag

    if not RepositoryManifest.objects.filter(repository=repo, manifest__digest=digest).exists():
        return
    for name in Tag.objects.filter(repository=repo, manifest__digest=digest).values_list("name", flat=True):
        tag_removed(repo.name, name, digest)
    record("delete", repository=repo.name, digest=digest)


def repository_deleting(name):
    """Before a repository goes: its tags' last moves, then the deletion."""
    from images.models import Tag

    for tag, digest in Tag.objects.filter(repository__name=name).values_list("name", "manifest__digest"):
        tag_removed(name, tag, digest)
    record("delete_repository", repository=name)


def visibility_changed(name, is_public):
    record("visibility", repository=name, category=SETTINGS, detail={"public": bool(is_public)})


# --- accounts -----------------------------------------------------------------------------------


def login(request, username, principal):
    """A login attempt through accounts/credentials.check_login (token endpoint, Basic auth, /v1/users).

    Every failure is recorded; a success once per principal and address per LOGIN_SUCCESS_SECONDS
    (clients that send Basic auth on each call would otherwise log a login per request).
    """
    name = (username or "").replace("\x00", "")[:150]
    if principal is None:
        record("login", outcome=FAILED, category=SECURITY, namespace="", detail={"username": name})
        return
    address = (getattr(request, "META", {}) or {}).get("REMOTE_ADDR", "")
    kind, who, _ = context.of_principal(principal)
    if cache.add(f"berth:activity-login:{kind}:{who}:{address}", 1, LOGIN_SUCCESS_SECONDS):
        record("login", category=SECURITY, namespace="", actor=principal, detail={"username": name})


def token_created(row):
    action = "robot_created" if row.is_robot else "token_created"
    namespace = row.organisation.name if row.is_robot else ""
    record(
        action,
        category=SECURITY,
        namespace=namespace,
        detail={"token": row.login_name, "prefix": row.key_id, "name": row.name, "actions": row.actions},
    )


def tokens_revoking(queryset):
    """Before `revoke(queryset)`: one entry per token still active."""
    for row in queryset.filter(revoked_at__isnull=True).select_related("organisation", "user"):
        action = "robot_revoked" if row.is_robot else "token_revoked"
        namespace = row.organisation.name if row.is_robot else ""
        record(
            action,
            category=SECURITY,
            namespace=namespace,
            detail={"token": row.login_name, "prefix": row.key_id, "name": row.name},
        )


def organisation_changed(actor, org, action, **detail):
    """Membership, team and grant changes (accounts/services/organisations.py)."""
    repository = detail.pop("repository", "")
    record(
        action,
        category=SECURITY,
        namespace=org.name,
        repository=repository,
        actor=actor,
        detail={k: str(v) for k, v in detail.items()},
    )


# --- garbage collection and retention -------------------------------------------------------------


def gc_finished(run, result, error=""):
    record(
        "garbage_collect",
        category=SYSTEM,
        outcome=FAILED if error else OK,
        detail={
            "run": run.pk,
            "dry_run": result.dry_run,
            "text": result.summary(),
            "error": error[:500],
            "bytes_freed": result.bytes_freed,
            "triggered_by": run.triggered_by,
        },
    )


def prune(now=None):
    """Remove entries older than BERTH_ACTIVITY_RETENTION_DAYS (garbage_collect calls it); how many went."""
    now = now or timezone.now()
    days = conf.retention_days()
    cutoff = now - timedelta(days=days)
    removed, _ = Event.objects.filter(at__lt=cutoff).delete()
    record("retention", category=SYSTEM, detail={"removed": removed, "days": days})
    return removed


def protected_manifest_ids(repo_id, linked_ids):
    """Manifest ids of this repository a tag pointed at within BERTH_TAG_HISTORY_DAYS (gc's mark phase keeps
    them live, so a restore within the window works). Only manifests still linked: GC keeps what exists."""
    from images.models import Manifest, Repository

    name = Repository.objects.filter(pk=repo_id).values_list("name", flat=True).first()
    if not name or not linked_ids:
        return set()
    since = timezone.now() - timedelta(days=conf.tag_history_days())
    recent = Event.objects.filter(repository=name, at__gte=since, action__in=TAG_ACTIONS).exclude(tag="")
    digests = set(recent.values_list("digest", flat=True)) | set(recent.values_list("previous_digest", flat=True))
    digests.discard("")
    ids = set(Manifest.objects.filter(digest__in=digests).values_list("pk", flat=True)) if digests else set()
    return ids & set(linked_ids)


def tag_deleting(repo, tag):
    """Before a v1 tag delete: the untag, when the tag exists."""
    if repo is None:
        return
    from images.models import Tag

    digest = Tag.objects.filter(repository=repo, name=tag).values_list("manifest__digest", flat=True).first()
    if digest is not None:
        tag_removed(repo.name, tag, digest)
