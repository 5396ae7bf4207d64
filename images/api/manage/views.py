"""Viewsets of the management API. Reads are filtered to what the user may see; writes call services."""

from django.db.models import BigIntegerField, CharField, DateTimeField, OuterRef, Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from images import permissions as rules
from images import references
from images.api.manage import filters, serializers
from images.api.manage.base import KeysetPagination, ManageAPIMixin, SearchPagination
from images.errors import RegistryError
from images.models import ManifestChild, ManifestLayer, Repository, RepositoryManifest, Tag
from images.services import catalog, repositories
from images.services import manifests as manifest_service

REPOSITORY_NAME = rf"{references._COMPONENT}(?:/{references._COMPONENT})*"
ID = ("id", None, BigIntegerField())


def _registry_error(exc):
    """Registry errors from services become DRF errors with the registry code."""
    body = {"detail": exc.message, "code": exc.code}
    if exc.status == 404:
        raise NotFound(body)
    raise ValidationError(body)


class RepositoryViewSet(
    ManageAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Repositories. PATCH changes `description` and `is_public`; DELETE removes the repository."""

    serializer_class = serializers.RepositorySerializer
    lookup_field = "name"
    lookup_value_regex = REPOSITORY_NAME
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.RepositoryFilter
    pagination_class = KeysetPagination
    keyset_orders = {
        "name": catalog.REPOSITORY_KEYS["name"][0],
        "last_push_at": catalog.REPOSITORY_KEYS["pushed"][0],
        "total_size": catalog.REPOSITORY_KEYS["size"][0],
        "tag_count": catalog.REPOSITORY_KEYS["tags"][0],
        "created_at": [ID],
    }
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def default_ordering(self, request):
        return "name"

    def get_queryset(self):
        return catalog.with_stats(rules.visible_repositories(self.request.user))

    def repository_of(self, obj):
        return obj

    def destroy(self, request, *args, **kwargs):
        repo = self.get_object()
        try:
            counts = repositories.delete_repository(repo.name)
        except RegistryError as exc:
            _registry_error(exc)
        return Response({"deleted": repo.name, **counts}, status=status.HTTP_200_OK)


class TagViewSet(ManageAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tags. DELETE removes only the tag (the image stays, by digest)."""

    serializer_class = serializers.TagSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.TagFilter
    pagination_class = KeysetPagination
    # "name" is the catalog's natural order; the indexes serve them within a repository (?repository=).
    keyset_orders = {
        "name": [("sort_key", None, CharField()), ID],
        "updated_at": [("updated_at", None, DateTimeField()), ID],
        "id": [ID],
    }
    http_method_names = ["get", "delete", "head", "options"]

    def default_ordering(self, request):
        return "name" if request.query_params.get("repository") else "id"

    def get_queryset(self):
        visible = rules.visible_repositories(self.request.user)
        qs = Tag.objects.filter(repository__in=visible).select_related("repository", "manifest")
        qs = qs.defer("manifest__payload", "repository__description")
        return qs.annotate(image_size=catalog.image_size_expression(OuterRef("manifest_id")))

    def destroy(self, request, *args, **kwargs):
        tag = self.get_object()
        try:
            manifest_service.delete(tag.repository.name, tag.name)
        except RegistryError as exc:
            _registry_error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ManifestViewSet(ManageAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Manifests held by repositories. DELETE removes the image from its repository with all its tags."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.ManifestFilter
    pagination_class = KeysetPagination
    keyset_orders = {"created_at": [ID]}  # rows are numbered as they are created
    http_method_names = ["get", "delete", "head", "options"]

    def default_ordering(self, request):
        return "-created_at"

    def get_serializer_class(self):
        return serializers.ManifestDetailSerializer if self.action == "retrieve" else serializers.ManifestSerializer

    def get_queryset(self):
        visible = rules.visible_repositories(self.request.user)
        qs = RepositoryManifest.objects.filter(repository__in=visible).select_related("repository", "manifest")
        qs = qs.defer("manifest__payload", "repository__description")
        qs = qs.prefetch_related(Prefetch("manifest__children", queryset=ManifestChild.objects.order_by("position")))
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch("manifest__layers", queryset=ManifestLayer.objects.order_by("position")))
        return qs.annotate(image_size=catalog.image_size_expression(OuterRef("manifest_id")))

    def _attach_tags(self, rows):
        by_key = {}
        wanted = Tag.objects.filter(
            repository_id__in={r.repository_id for r in rows}, manifest_id__in={r.manifest_id for r in rows}
        )
        for repository_id, manifest_id, name in wanted.order_by("name").values_list(
            "repository_id", "manifest_id", "name"
        ):
            by_key.setdefault((repository_id, manifest_id), []).append(name)
        for row in rows:
            row.tag_names = by_key.get((row.repository_id, row.manifest_id), [])
        return rows

    def list(self, request, *args, **kwargs):
        page = self._attach_tags(self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        row = self._attach_tags([self.get_object()])[0]
        return Response(self.get_serializer(row).data)

    def destroy(self, request, *args, **kwargs):
        row = self.get_object()
        try:
            manifest_service.delete(row.repository.name, row.manifest.digest)
        except RegistryError as exc:
            _registry_error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SearchViewSet(ManageAPIMixin, viewsets.GenericViewSet):
    """Repository search: the same ranking as /v1/search and the catalog's search box."""

    serializer_class = serializers.RepositorySummarySerializer
    pagination_class = SearchPagination  # the schema; list() pages by catalog.search_page, with the count
    queryset = Repository.objects.none()  # the browsable API asks for one; results come from catalog.search

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Words to look for in names and descriptions"),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From the next or previous link"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1-100, default 25"),
        ],
        responses=serializers.RepositorySummarySerializer(many=True),
    )
    def list(self, request):
        query = request.query_params.get("q", "")
        size = _search_page_size(request)
        cursor = request.query_params.get("cursor", "")[:2000]
        page, total = catalog.search_page(request.user, query, cursor, per_page=size)
        if page.invalid:
            raise ValidationError({"cursor": ["Invalid cursor: start again from the first page."]})
        url = remove_query_param(request.build_absolute_uri(), "page")
        body = {
            "count": total,
            "next": replace_query_param(url, "cursor", page.next_cursor) if page.has_next else None,
            "previous": replace_query_param(url, "cursor", page.previous_cursor) if page.has_previous else None,
            "results": self.get_serializer(page.object_list, many=True).data,
        }
        if not cursor and request.query_params.get("page") not in (None, "", "1"):
            body["notice"] = "page= is no longer supported: follow the next and previous links (cursor=)."
        return Response(body)


def _search_page_size(request):
    try:
        return min(100, max(1, int(request.query_params.get("page_size") or 25)))
    except ValueError:
        raise ValidationError({"detail": "page_size must be an integer"}) from None


class SingleObjectSchema(AutoSchema):
    """The storage overview is one object, though the viewset's `list` action serves it (not an array)."""

    def _is_list_view(self, serializer=None):
        return False


class StorageViewSet(ManageAPIMixin, viewsets.GenericViewSet):
    """Storage overview: bytes stored, saved by deduplication, awaiting GC; largest repositories."""

    schema = SingleObjectSchema()
    serializer_class = serializers.StorageSerializer
    pagination_class = None
    # No object to check (the overview is filtered per user); the browsable API's OPTIONS form asks anyway.
    permission_classes = ()

    @extend_schema(responses=serializers.StorageSerializer)
    def list(self, request):
        s = catalog.storage_overview(request.user)
        data = {
            "stored_bytes": s["stored"]["bytes"],
            "stored_blobs": s["stored"]["count"],
            "logical_bytes": s["logical_bytes"],
            "saved_bytes": s["saved_bytes"],
            "orphaned_bytes": s["orphaned"]["bytes"],
            "repositories": s["repositories"],
            "tags": s["tags"],
            "manifests": s["manifests"]["count"],
            "largest": s["largest"],
        }
        return Response(self.get_serializer(data).data)
