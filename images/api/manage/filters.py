"""Query filters for the management API (django-filter; documented in the OpenAPI schema)."""

from datetime import UTC

import django_filters as filters
from django import forms
from django_filters.fields import IsoDateTimeField

from images.models import Repository, RepositoryManifest, Tag


class UTCDateTimeField(IsoDateTimeField):
    """ISO 8601, converted to UTC: Python takes offsets up to ±23:59, PostgreSQL only ±15:59
    (a 500 otherwise), and a date at the edge of the calendar can't be moved at all."""

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise forms.ValidationError("date out of range", code="invalid") from None


class DateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class RepositoryFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Name contains (case-insensitive)")
    namespace = filters.CharFilter(field_name="namespace", help_text="Exact namespace; empty for top-level names")
    is_public = filters.BooleanFilter(field_name="is_public")
    pushed_after = DateTimeFilter(field_name="last_push_at", lookup_expr="gte")
    pushed_before = DateTimeFilter(field_name="last_push_at", lookup_expr="lt")

    class Meta:
        model = Repository
        fields = ["name", "namespace", "is_public"]


def by_repository_name(queryset, name, value):
    """repository_id = the id of that name, looked up first: with the id as a constant the planner knows
    how many rows it has and pages them off the (repository, …) indexes; through a join or a subquery it
    guessed a dozen and sorted all 100,000 tags of a big repository."""
    repo_id = Repository.objects.filter(name=value.replace("\x00", "")).values_list("pk", flat=True).first()
    return queryset.filter(repository_id=repo_id) if repo_id is not None else queryset.none()


class TagFilter(filters.FilterSet):
    repository = filters.CharFilter(method=by_repository_name, help_text="Repository name (exact)")
    name = filters.CharFilter(field_name="name", help_text="Tag name (exact)")
    name_contains = filters.CharFilter(field_name="name", lookup_expr="icontains")
    digest = filters.CharFilter(field_name="manifest__digest", help_text="Manifest digest the tag names")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Tag
        fields = ["repository", "name", "digest"]


class ManifestFilter(filters.FilterSet):
    repository = filters.CharFilter(method=by_repository_name, help_text="Repository name (exact)")
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
