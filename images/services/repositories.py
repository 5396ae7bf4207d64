"""Repository rows: lookup and creation on first push."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from activity import recorder
from images import references
from images.errors import NameUnknown
from images.models import Repository
from images.services import prepared, read_cache, upload_store
from policies import hooks as policy_hooks

_FIELDS = prepared.columns(Repository)
_NAMED = prepared.Prepared(lambda name: Repository.objects.filter(name=name).values_list(*_FIELDS)[:1], "name")


def named(name):
    """The repository with this name, or None. Every pull asks (its authorisation), so the SQL is compiled
    once per process (images/services/prepared.py) and its row kept while nothing changed
    (images/services/read_cache.py); each caller gets an instance of its own."""
    if "\x00" in name:  # no name holds NUL, and PostgreSQL refuses to compare one
        return None
    row = read_cache.lookup(("repository", name), lambda: _row(name))
    return None if row is None else Repository.from_db("default", _FIELDS, row)


def _row(name):
    rows = _NAMED.rows(name=name)
    return rows[0] if rows else None


def get(name):
    repository = named(name)
    if repository is None:
        raise NameUnknown(detail={"name": name})
    return repository


def get_or_create(name, public=None, description=""):
    """The repository, created if missing (public as configured unless said), its row locked until the
    caller's transaction ends: one upsert, the one that creates every repository (upload_store)."""
    references.validate_name(name)
    return upload_store.store().repository(name, public, description)


def touch_push(repo):
    Repository.objects.filter(pk=repo.pk).update(last_push_at=timezone.now())


MAX_DESCRIPTION_LENGTH = 10_000


def set_description(name, text):
    """Replace the repository's description (plain text, newlines normalised)."""
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise ValidationError(f"a description holds at most {MAX_DESCRIPTION_LENGTH} characters", code="too_long")
    repo = get(name)
    Repository.objects.filter(pk=repo.pk).update(description=text)
    repo.description = text
    return repo


def set_visibility(name, is_public):
    repo = get(name)
    Repository.objects.filter(pk=repo.pk).update(is_public=bool(is_public))
    recorder.visibility_changed(repo.name, is_public)
    repo.is_public = bool(is_public)
    return repo


def delete_repository(name):
    """Remove a repository with its tags, manifest and blob links and pending uploads.

    Returns {"tags": n, "manifests": n}. Content rows and bytes stay until
    garbage collection finds them unreferenced.
    """
    from images.models import RepositoryBlob, RepositoryManifest, Tag, Upload
    from storage_backends import upload_staging

    with transaction.atomic():
        repo = Repository.objects.select_for_update().filter(name=name).first()
        if repo is None:
            raise NameUnknown(detail={"name": name})
        policy_hooks.check_delete(repo, all_tags=True)  # immutable tags stay (policies/)
        counts = {
            "tags": Tag.objects.filter(repository=repo).count(),
            "manifests": RepositoryManifest.objects.filter(repository=repo).count(),
        }
        recorder.repository_deleting(repo.name)
        Tag.objects.filter(repository=repo).delete()
        RepositoryManifest.objects.filter(repository=repo).delete()
        RepositoryBlob.objects.filter(repository=repo).delete()
        repo.delete()
        upload_ids = list(Upload.objects.filter(repository_name=name).values_list("uuid", flat=True))
        Upload.objects.filter(uuid__in=upload_ids).delete()
        transaction.on_commit(lambda: [upload_staging.discard(uid) for uid in upload_ids])
    return counts
