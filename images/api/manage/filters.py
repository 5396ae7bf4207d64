"""Query filters for the management API (django-filter; documented in the OpenAPI schema)."""

import django_filters as filters

from images.models import Repository, RepositoryManifest, Tag


class RepositoryFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Name contains (case-insensitive)")
    namespace = filters.CharFilter(field_name="namespace", help_text="Exact namespace; empty for top-level names")
    is_public = filters.BooleanFilter(field_name="is_public")
    pushed_after = filters.IsoDateTimeFilter(field_name="last_push_at", lookup_expr="gte")
    pushed_before = filters.IsoDateTimeFilter(field_name="last_push_at", lookup_expr="lt")

    class Meta:
        model = Repository
        fields = ["name", "namespace", "is_public"]


class TagFilter(filters.FilterSet):
    repository = filters.CharFilter(field_name="repository__name", help_text="Repository name (exact)")
    name = filters.CharFilter(field_name="name", help_text="Tag name (exact)")
    name_contains = filters.CharFilter(field_name="name", lookup_expr="icontains")
    digest = filters.CharFilter(field_name="manifest__digest", help_text="Manifest digest the tag names")
    updated_after = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Tag
        fields = ["repository", "name", "digest"]


class ManifestFilter(filters.FilterSet):
    repository = filters.CharFilter(field_name="repository__name", help_text="Repository name (exact)")
    digest = filters.CharFilter(field_name="manifest__digest")
    media_type = filters.CharFilter(field_name="manifest__media_type")
    artifact_type = filters.CharFilter(field_name="manifest__artifact_type")
    subject = filters.CharFilter(field_name="manifest__subject_digest", help_text="Referrers of this digest")
    tagged = filters.BooleanFilter(method="filter_tagged", help_text="Only manifests with (true) or without tags")

    class Meta:
        model = RepositoryManifest
        fields = ["repository", "digest"]

    def filter_tagged(self, queryset, name, value):
        from django.db.models import Exists, OuterRef

        has_tag = Exists(Tag.objects.filter(repository=OuterRef("repository"), manifest=OuterRef("manifest")))
        return queryset.filter(has_tag) if value else queryset.exclude(has_tag)
