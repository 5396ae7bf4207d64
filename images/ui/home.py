"""Home: every repository the visitor may see, grouped by namespace, sortable, searchable."""

from dataclasses import dataclass

from django.contrib.auth import get_user
from django.shortcuts import render

from images.services import catalog
from images.ui.common import PAGE_SIZE, page_prefix, paginate, public_host

SORT_LABELS = {"name": "Name", "pushed": "Last push", "size": "Size", "tags": "Tags"}


@dataclass
class SearchPage:
    """The bits of a Django Page the templates use, for results paged by the search service."""

    object_list: list
    number: int
    total: int
    per_page: int

    @property
    def num_pages(self):
        return max(1, -(-self.total // self.per_page))

    def has_previous(self):
        return self.number > 1

    def has_next(self):
        return self.number < self.num_pages

    def has_other_pages(self):
        return self.num_pages > 1

    def previous_page_number(self):
        return self.number - 1

    def next_page_number(self):
        return self.number + 1

    @property
    def count(self):
        return self.total

    @property
    def paginator(self):
        return self


def _page_number(raw):
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return 1


def home(request):
    if not hasattr(request.user, "is_authenticated"):
        # Reached through the v1 root view (browsers asking for "/"), whose DRF request replaced
        # the session user with None: take it from the session again.
        request.user = get_user(request)
    query = request.GET.get("q", "").strip()[:255]
    sort = request.GET.get("sort") if request.GET.get("sort") in SORT_LABELS else "name"
    namespace = request.GET.get("namespace")
    if namespace == "__all__":
        namespace = None
    if query:
        number = _page_number(request.GET.get("page"))
        rows, total = catalog.search(request.user, query, page=number, per_page=PAGE_SIZE)
        page = SearchPage(rows, number, total, PAGE_SIZE)
    else:
        repos = catalog.repositories(request.user, sort, namespace)
        if sort == "name" and namespace is None:
            repos = repos.order_by("namespace", "name")
        page = paginate(request, repos)
    context = {
        "page": page,
        "query": query,
        "sort": sort,
        "sort_labels": SORT_LABELS,
        "namespace": namespace,
        "namespaces": catalog.namespaces(request.user),
        "grouped": not query and sort == "name" and namespace is None,
        "base_qs": page_prefix(request),
        "host": public_host(request),
    }
    return render(request, "berth/home.html", context)
