"""Plumbing shared by the management API views: auth, permissions, paging, plain DRF errors."""

from csp.constants import UNSAFE_INLINE
from rest_framework import pagination, parsers, permissions
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from images import keyset
from images import permissions as rules


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetPagination(pagination.BasePagination):
    """Keyset (cursor) pages of a long list (images/keyset.py): {"count", "next", "previous", "results"}.

    The view names its orders in `keyset_orders` ({"name": [(alias, expression, field), …]}, each ending
    with a unique key and served by an index); `?ordering=-name` reads one backwards. A deep page costs
    what the first costs. `?page=N` of earlier versions gives the first page and a "notice". `count` is
    exact up to COUNT_CAP rows; a longer list says COUNT_CAP with "count_capped": true (counting every row
    of a 100,000-row list would cost what the page is spared)."""

    page_size = 50
    max_page_size = 500
    notice = ""
    COUNT_CAP = 10_000

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        name = request.query_params.get("ordering") or view.default_ordering(request)
        keys = view.keyset_orders.get(name.removeprefix("-"))
        if keys is None:
            choices = ", ".join(f"{k}, -{k}" for k in view.keyset_orders)
            raise ValidationError({"ordering": [f"Order by one of: {choices}."]})
        size = self._page_size(request)
        cursor = request.query_params.get("cursor", "")[:2000]
        number = request.query_params.get("page")
        if not cursor and number not in (None, "", "1"):
            self.notice = "page= is no longer supported: follow the next and previous links (cursor=)."
        self.count = queryset.order_by()[: self.COUNT_CAP + 1].count()
        self.page = keyset.page(queryset, keys, cursor, size, descending=name.startswith("-"))
        if self.page.invalid:
            raise ValidationError({"cursor": ["Invalid cursor: start again from the first page."]})
        return self.page.object_list

    def _page_size(self, request):
        raw = request.query_params.get("page_size")
        try:
            return min(max(int(raw), 1), self.max_page_size) if raw else self.page_size
        except ValueError:
            raise ValidationError({"page_size": ["A whole number, 1-500."]}) from None

    def _link(self, cursor):
        url = remove_query_param(self.request.build_absolute_uri(), "page")
        return replace_query_param(url, "cursor", cursor)

    def get_paginated_response(self, data):
        body = {
            "count": min(self.count, self.COUNT_CAP),
            **({"count_capped": True} if self.count > self.COUNT_CAP else {}),
            "next": self._link(self.page.next_cursor) if self.page.has_next else None,
            "previous": self._link(self.page.previous_cursor) if self.page.has_previous else None,
            "results": data,
        }
        if self.notice:
            body["notice"] = self.notice
        return Response(body)

    def get_paginated_response_schema(self, schema):
        count = {"type": "integer", "description": f"Rows in the whole list, exact up to {self.COUNT_CAP:,}"}
        capped = {"type": "boolean", "description": "Present (true) when the list is longer than `count` says"}
        return keyset_response_schema(schema, count=count, count_capped=capped)

    def get_schema_operation_parameters(self, view):
        orders = ", ".join(view.keyset_orders)
        return [
            {"name": "cursor", "required": False, "in": "query", "schema": {"type": "string"},
             "description": "Where the page starts: from the next or previous link"},
            {"name": "page_size", "required": False, "in": "query", "schema": {"type": "integer"},
             "description": "1-500, default 50"},
            {"name": "ordering", "required": False, "in": "query", "schema": {"type": "string"},
             "description": f"One of {orders}; a leading - reverses it"},
        ]  # fmt: skip


def keyset_response_schema(schema, **extra):
    link = {"type": "string", "nullable": True, "format": "uri"}
    notice = {"type": "string", "description": "Present when an old ?page= link was followed"}
    properties = {**extra, "next": link, "previous": link, "notice": notice, "results": schema}
    return {"type": "object", "required": ["results"], "properties": properties}


class SearchPagination(pagination.BasePagination):
    """What search answers (views.SearchViewSet pages by its own cursor, with the count of matches),
    for the OpenAPI schema."""

    def get_paginated_response_schema(self, schema):
        return keyset_response_schema(schema, count={"type": "integer"})

    def get_schema_operation_parameters(self, view):
        return []


class RepositoryAccess(permissions.BasePermission):
    """Reads need can_read, DELETE needs can_delete, other writes need can_write (on the object's repository).

    List querysets are already narrowed to visible repositories, so hidden objects are 404s.
    """

    def has_object_permission(self, request, view, obj):
        repo = view.repository_of(obj)
        if request.method in permissions.SAFE_METHODS:
            return rules.can_read(request.user, repo)
        if request.method == "DELETE":
            return rules.can_delete(request.user, repo)
        return rules.can_write(request.user, repo)


class JSONParser(parsers.JSONParser):
    """DRF's, but JSON nested deeper than Python's recursion limit is a 400 too, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None


class ManageAPIMixin:
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
    permission_classes = [RepositoryAccess]
    pagination_class = Pagination

    def get_exception_handler(self):
        # The registry APIs render errors in their own envelopes; this one uses DRF's {"detail": ...}.
        return drf_exception_handler

    def repository_of(self, obj):
        return obj.repository


# DRF's page template has no block around <html> and an icon-only format button: the two attributes an
# accessible page needs there are added to the rendered page (tests/browser/test_a11y.py checks them).
ACCESSIBLE = (
    ("<html>", '<html lang="en">'),
    ('data-toggle="dropdown" title=', 'data-toggle="dropdown" aria-label="Choose a format" title='),
)


class BrowsableAPI(BrowsableAPIRenderer):
    """DRF's browsable API pages carry inline styles (syntax highlighting, two style attributes):
    on them alone the Content-Security-Policy also allows inline styles. Scripts stay 'self' only.
    The page also gets a language and a name for its format button (ACCESSIBLE)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        page = super().render(data, accepted_media_type, renderer_context)
        for old, new in ACCESSIBLE:
            page = page.replace(old, new, 1)
        return page
