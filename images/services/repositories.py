"""Repository rows: lookup and creation on first push."""

from django.utils import timezone

from images import references
from images.errors import NameUnknown
from images.models import Repository


def get(name):
    try:
        return Repository.objects.get(name=name)
    except Repository.DoesNotExist:
        raise NameUnknown(detail={"name": name}) from None


def get_or_create(name, lock=False):
    """Return the repository, creating it on first push; with lock=True the row is locked."""
    references.validate_name(name)
    repo, _ = Repository.objects.get_or_create(name=name, defaults={"namespace": references.namespace_of(name)})
    if lock:
        repo = Repository.objects.select_for_update().get(pk=repo.pk)
    return repo


def touch_push(repo):
    Repository.objects.filter(pk=repo.pk).update(last_push_at=timezone.now())
