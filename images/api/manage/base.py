"""Plumbing shared by the management API views: auth, permissions, paging, plain DRF errors."""

from rest_framework import pagination, permissions
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
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


class ManageAPIMixin:
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    permission_classes = [RepositoryAccess]
    pagination_class = Pagination

    def get_exception_handler(self):
        # The registry APIs render errors in their own envelopes; this one uses DRF's {"detail": ...}.
        return drf_exception_handler

    def repository_of(self, obj):
        return obj.repository
