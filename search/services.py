"""Repository search: the one function behind /v1/search (and the catalog UI / JSON API).

Matches the repository name and description case-insensitively and ranks:
  0 exact name (`term` or `library/term`)
  1 the last name component is the term (`someone/term`)
  2 the name or one of its components starts with the term
  3 the term is elsewhere in the name
  4 only the description matches
then by name. Two queries per page (count, page) whatever the number of repositories (on
PostgreSQL in a transaction of their own that keeps them on the trigram indexes);
an empty term lists everything by name, straight off the unique index.
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import Case, CharField, IntegerField, Q, Value, When

from images.errors import PaginationInvalid
from images.models import Repository

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
EXACT, LAST_COMPONENT, PREFIX, SUBSTRING, DESCRIPTION = range(5)
TRIGRAM = 3  # pg_trgm's indexes serve substring patterns of this many characters or more


@dataclass(frozen=True)
class SearchPage:
    query: str
    total: int
    page: int
    page_size: int
    results: list  # Repository rows (name, namespace, description, is_public, last_push_at, counts)

    @property
    def num_pages(self):
        return math.ceil(self.total / self.page_size)


def _positive_int(raw, default, name):
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise PaginationInvalid(f"invalid {name}", detail={name: str(raw)[:50]}) from None


def page_params(n=None, page=None):
    """(page, page_size) from raw query values: n defaults to 25, clamped to 1..100; page >= 1."""
    size = min(max(_positive_int(n, DEFAULT_PAGE_SIZE, "n"), 1), MAX_PAGE_SIZE)
    return max(_positive_int(page, 1, "page"), 1), size


def search_repositories(query="", page=1, page_size=DEFAULT_PAGE_SIZE, repositories=None):
    """One page of matching repositories, best first. `repositories` narrows the set (e.g. visibility)."""
    term = (query or "").replace("\x00", "").strip().lower()  # PostgreSQL refuses NUL in a query
    qs = Repository.objects.all() if repositories is None else repositories
    if term:
        qs = qs.filter(Q(name__contains=term) | Q(description__icontains=term))
    offset = (page - 1) * page_size
    results = []
    with _trigram_indexes(qs.db, term):
        total = qs.count()
        if offset < total:
            ordered = _ranked(qs, term) if term else qs.order_by("name")
            fields = ("name", "namespace", "description", "is_public", "last_push_at", "tag_count", "total_size")
            results = list(ordered.only(*fields)[offset : offset + page_size])
    return SearchPage(query=query or "", total=total, page=page, page_size=page_size, results=results)


@contextmanager
def _trigram_indexes(alias, term):
    """On PostgreSQL, the search's queries read the trigram indexes (images/migrations/0004).

    The planner prices `LIKE '%term%'` far below what it costs on every row, and with some ANALYZE
    samples it chose to read the whole table: 75 ms a search at 100,000 repositories instead of 9.
    `SET LOCAL` lasts only for the transaction opened here.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql" or len(term) < TRIGRAM or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        yield


def search_page(query="", cursor="", per_page=DEFAULT_PAGE_SIZE, repositories=None):
    """(keyset page of matching repositories, best first; total matches): the catalog's search pages.

    The cursor is the (rank, name) of a row: a deep page runs the same two queries as the first."""
    from images import keyset

    term = (query or "").replace("\x00", "").strip().lower()
    qs = Repository.objects.all() if repositories is None else repositories
    if term:
        qs = qs.filter(Q(name__contains=term) | Q(description__icontains=term))
    keys = (
        [("rank", _rank(term), IntegerField()), ("name", None, CharField())] if term else [("name", None, CharField())]
    )
    with _trigram_indexes(qs.db, term):
        total = qs.count()
        found = keyset.page(qs, keys, cursor, per_page)
    return found, total


def _ranked(qs, term):
    return qs.annotate(rank=_rank(term)).order_by("rank", "name")


def _rank(term):
    return Case(
        When(Q(name=term) | Q(name=f"library/{term}"), then=Value(EXACT)),
        When(name__endswith=f"/{term}", then=Value(LAST_COMPONENT)),
        When(Q(name__startswith=term) | Q(name__contains=f"/{term}"), then=Value(PREFIX)),
        When(name__contains=term, then=Value(SUBSTRING)),
        default=Value(DESCRIPTION),
        output_field=IntegerField(),
    )
