"""Tag and catalog listings, paginated the distribution way (n, last)."""

import functools

from images.conf import registry_setting
from images.errors import PaginationInvalid
from images.models import Repository, Tag
from images.services import prepared, repositories


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


def _clean(last):
    return (last or "").replace("\x00", "")  # names never hold NUL (and PostgreSQL can't compare it)


def _limit(n):
    return registry_setting("DEFAULT_PAGE_SIZE") if n is None else n


def _page(qs, field, n, last):
    last = _clean(last)
    if last:
        qs = qs.filter(**{f"{field}__gt": last})
    limit = _limit(n)
    if limit == 0:
        return [], False
    names = list(qs.order_by(field).values_list(field, flat=True)[: limit + 1])
    return names[:limit], len(names) > limit


# Tags lists and the open catalog are read constantly: their page queries are compiled once per
# (has `last`, page size) and process (images/services/prepared.py).
@functools.lru_cache(maxsize=64)
def _prepared_page(model, after, limit):
    def build(repository, last):
        qs = Tag.objects.filter(repository__name=repository) if model is Tag else model.objects.all()
        if after:
            qs = qs.filter(name__gt=last)
        return qs.order_by("name").values_list("name", flat=True)[: limit + 1]

    return prepared.Prepared(build, "repository", "last")


def _prepared_names(model, n, last, repository=""):
    last, limit = _clean(last), _limit(n)
    if limit == 0:
        return [], False
    rows = _prepared_page(model, bool(last), limit).rows(repository=repository, last=last)
    return [row[0] for row in rows[:limit]], len(rows) > limit


def list_tags(repository_name, n=None, last=None):
    """(tags, has_more) for the repository, sorted; NAME_UNKNOWN when it does not exist."""
    names, has_more = _prepared_names(Tag, n, last, repository=repository_name)
    if not names:
        repositories.get(repository_name)
    return names, has_more


def list_repositories(n=None, last=None, visible=None):
    """(names, has_more); `visible` narrows the queryset (images.permissions.visible_repositories)."""
    if visible is None:
        return _prepared_names(Repository, n, last)
    return _page(visible(Repository.objects.all()), "name", n, last)
