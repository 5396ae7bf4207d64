"""Home: every repository the visitor may see, grouped by namespace, sortable, searchable; keyset pages."""

from django.contrib.auth import get_user
from django.shortcuts import render

from images.services import catalog
from images.ui.common import PAGE_SIZE, cursor_params, page_prefix, public_host

SORT_LABELS = {"name": "Name", "pushed": "Last push", "size": "Size", "tags": "Tags"}


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
    cursor, notice = cursor_params(request)
    namespaces = catalog.namespaces(request.user)
    if query:
        page, total = catalog.search_page(request.user, query, cursor, per_page=PAGE_SIZE)
    else:
        page = catalog.repository_page(request.user, sort, namespace, cursor, per_page=PAGE_SIZE)
        total = sum(ns["count"] for ns in namespaces if namespace is None or ns["namespace"] == namespace)
    context = {
        "page": page,
        "total": total,
        "page_notice": notice or ("That page link has expired: showing the first page." if page.invalid else ""),
        "query": query,
        "sort": sort,
        "sort_labels": SORT_LABELS,
        "namespace": namespace,
        "namespaces": namespaces,
        "grouped": not query and sort == "name" and namespace is None,
        "base_qs": page_prefix(request),
        "host": public_host(request),
    }
    return render(request, "berth/home.html", context)
