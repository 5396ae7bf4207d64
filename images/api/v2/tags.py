"""GET /v2/<name>/tags/list and GET /v2/_catalog, paginated with n/last and Link."""

from urllib.parse import quote

from images.api.errors import json_response
from images.api.v2.base import RegistryView
from images.services import tags
from proxy import reads as proxy_reads


class TagsListView(RegistryView):
    def get(self, request, name):
        n = tags.page_size(request.GET.get("n"))
        items, has_more = proxy_reads.list_tags(name, n, request.GET.get("last"))
        response = json_response({"name": name, "tags": items})
        _link(response, request, items, has_more, n)
        return response


class CatalogView(RegistryView):
    """Lists only the repositories the caller may pull."""

    def authorize(self, request):
        pass

    def get(self, request):
        n = tags.page_size(request.GET.get("n"))
        visible = None if self.caller.scheme == "open" else self.caller.visible
        items, has_more = tags.list_repositories(n, request.GET.get("last"), visible=visible)
        response = json_response({"repositories": items})
        _link(response, request, items, has_more, n)
        return response


def _link(response, request, items, has_more, n):
    if has_more and items:
        size = n if n is not None else len(items)
        response["Link"] = f'<{request.path}?n={size}&last={quote(items[-1], safe="/")}>; rel="next"'
