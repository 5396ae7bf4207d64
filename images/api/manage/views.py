"""Viewsets of the management API. Reads are filtered to what the user may see; writes call services."""

from django.db.models import OuterRef, Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from images import permissions as rules
from images import references
from images.api.manage import filters, serializers
from images.api.manage.base import ManageAPIMixin, Pagination
from images.errors import RegistryError
from images.models import ManifestChild, ManifestLayer, Repository, RepositoryManifest, Tag
from images.services import catalog, repositories
from images.services import manifests as manifest_service

REPOSITORY_NAME = rf"{references._COMPONENT}(?:/{references._COMPONENT})*"


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
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = filters.RepositoryFilter
    ordering_fields = ["name", "last_push_at", "created_at", "total_size", "tag_count"]
    ordering = ["name"]
    http_method_names = ["get", "patch", "delete", "head", "options"]

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
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = filters.TagFilter
    ordering_fields = ["name", "updated_at", "image_size"]
    ordering = ["repository__name", "name"]
    http_method_names = ["get", "delete", "head", "options"]

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

    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = filters.ManifestFilter
    ordering_fields = ["created_at", "image_size"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "delete", "head", "options"]

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
    pagination_class = Pagination
    queryset = Repository.objects.none()  # the browsable API asks for one; results come from catalog.search

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Words to look for in names and descriptions"),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1-100, default 25"),
        ],
        responses=serializers.RepositorySummarySerializer(many=True),
    )
    def list(self, request):
        query = request.query_params.get("q", "")
        page, size = _search_paging(request)
        rows, total = catalog.search(request.user, query, page=page, per_page=size)
        data = self.get_serializer(rows, many=True).data
        url = request.build_absolute_uri()
        has_next = page * size < total
        return Response(
            {
                "count": total,
                "next": replace_query_param(url, "page", page + 1) if has_next else None,
                "previous": (
                    None
                    if page <= 1
                    else (remove_query_param(url, "page") if page == 2 else replace_query_param(url, "page", page - 1))
                ),
                "results": data,
            }
        )


def _search_paging(request):
    try:
        page = max(1, int(request.query_params.get("page") or 1))
        size = min(100, max(1, int(request.query_params.get("page_size") or 25)))
    except ValueError:
        raise ValidationError({"detail": "page and page_size must be integers"}) from None
    return page, size


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
