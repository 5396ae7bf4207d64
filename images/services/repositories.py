"""Repository rows: lookup and creation on first push."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from activity import recorder
from images import references
from images.conf import registry_setting
from images.errors import NameUnknown
from images.models import Repository
from policies import hooks as policy_hooks


def get(name):
    try:
        return Repository.objects.get(name=name)
    except Repository.DoesNotExist:
        raise NameUnknown(detail={"name": name}) from None


def get_or_create(name, lock=False):
    """Return the repository, creating it on first push; with lock=True the row is locked."""
    references.validate_name(name)
    defaults = {"namespace": references.namespace_of(name), "is_public": new_public()}
    repo, _ = Repository.objects.get_or_create(name=name, defaults=defaults)
    if lock:
        repo = Repository.objects.select_for_update().get(pk=repo.pk)
    return repo


def new_public():
    """Whether a repository created by a push starts public."""
    return bool(registry_setting("NEW_REPOSITORIES_PUBLIC"))


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
