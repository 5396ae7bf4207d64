"""Plumbing shared by the management API views: auth, permissions, paging, plain DRF errors."""

from csp.constants import UNSAFE_INLINE
from rest_framework import pagination, parsers, permissions
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.views import exception_handler as drf_exception_handler

from images import permissions as rules


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


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
