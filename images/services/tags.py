"""Tag and catalog listings, paginated the distribution way (n, last)."""

import functools

from images.conf import registry_setting
from images.errors import PaginationInvalid
from images.models import Repository, Tag
from images.services import prepared, read_cache, repositories


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


def _catalog_page(n, last):
    names, has_more = _prepared_names(Repository, n, last)
    return tuple(names), has_more


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
    """(tags, has_more) for the repository, sorted; NAME_UNKNOWN when it does not exist. From the read cache
    while nothing changed (images/services/read_cache.py)."""
    key = ("tags", repository_name, n, _clean(last))
    names, has_more, known = read_cache.lookup(key, lambda: _tags_page(repository_name, n, last))
    if not known:
        repositories.get(repository_name)
    return list(names), has_more


def _tags_page(repository_name, n, last):
    names, has_more = _prepared_names(Tag, n, last, repository=repository_name)
    known = bool(names) or Repository.objects.filter(name=repository_name).exists()
    return tuple(names), has_more, known


def list_repositories(n=None, last=None, visible=None):
    """(names, has_more); `visible` narrows the queryset (images.permissions.visible_repositories)."""
    if visible is None:
        names, has_more = read_cache.lookup(("catalog", n, _clean(last)), lambda: _catalog_page(n, last))
        return list(names), has_more
    return _page(visible(Repository.objects.all()), "name", n, last)
