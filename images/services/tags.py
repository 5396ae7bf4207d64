"""Tag and catalog listings, paginated the distribution way (n, last)."""

from images.conf import registry_setting
from images.errors import PaginationInvalid
from images.models import Repository, Tag
from images.services import repositories


def page_size(raw):
    if raw in (None, ""):
        return None
    try:
        n = int(raw)
    except ValueError:
        raise PaginationInvalid(detail={"n": str(raw)[:50]}) from None
    if n < 0:
        raise PaginationInvalid(detail={"n": n})
    return min(n, registry_setting("MAX_PAGE_SIZE"))


def _page(qs, field, n, last):
    last = (last or "").replace("\x00", "")  # names never hold NUL (and PostgreSQL can't compare it)
    if last:
        qs = qs.filter(**{f"{field}__gt": last})
    limit = registry_setting("DEFAULT_PAGE_SIZE") if n is None else n
    if limit == 0:
        return [], False
    names = list(qs.order_by(field).values_list(field, flat=True)[: limit + 1])
    return names[:limit], len(names) > limit


def list_tags(repository_name, n=None, last=None):
    """(tags, has_more) for the repository, sorted."""
    repo = repositories.get(repository_name)
    return _page(Tag.objects.filter(repository=repo), "name", n, last)


def list_repositories(n=None, last=None, visible=None):
    """(names, has_more); `visible` narrows the queryset (images.permissions.visible_repositories)."""
    qs = Repository.objects.all()
    if visible is not None:
        qs = visible(qs)
    return _page(qs, "name", n, last)
