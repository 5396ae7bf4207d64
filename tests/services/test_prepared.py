"""Prepared queries: compiled once, bound per call, and the same rows as the queryset they came from."""

import pytest

from images.models import Manifest, Repository
from images.services import manifests, prepared, repositories

pytestmark = pytest.mark.django_db

BY_NAME = prepared.Prepared(lambda name: Repository.objects.filter(name=name).values_list("id", "name"), "name")


def test_binds_new_values_on_each_call():
    one = Repository.objects.create(name="team/one")
    two = Repository.objects.create(name="team/two")
    assert BY_NAME.rows(name="team/one") == [(one.pk, "team/one")]
    assert BY_NAME.rows(name="team/two") == [(two.pk, "team/two")]
    assert BY_NAME.rows(name="team/none") == []


def test_a_value_that_is_not_a_marker_is_refused_at_compile_time():
    literal = prepared.Prepared(lambda name: Repository.objects.filter(name=name, namespace="fixed"), "name")
    with pytest.raises(ValueError, match="not markers"):
        literal.rows(name="x")


def test_values_are_parameters_not_sql(registry):
    registry.push_image("team/app", "v1")
    hostile = "v1' OR '1'='1"
    assert BY_NAME.rows(name=hostile) == []
    assert manifests._LOOKUPS["tag", True].rows(repository="team/app", value=hostile) == []


def test_manifest_read_matches_the_orm_and_loads_other_fields_on_access(registry, django_assert_num_queries):
    registry.push_image("team/app", "v1")
    with django_assert_num_queries(1):
        manifest = manifests.get("team/app", "v1")
    stored = Manifest.objects.get(digest=manifest.digest)
    assert (manifest.pk, bytes(manifest.payload), manifest.media_type) == (
        stored.pk,
        bytes(stored.payload),
        stored.media_type,
    )
    assert manifest.annotations == stored.annotations  # deferred: one more query, same value


def test_columns_come_back_as_the_orm_returns_them(django_user_model):
    """Datetime and boolean columns get Django's converters (SQLite returns text and integers)."""
    user = django_user_model.objects.create_user("ada", is_staff=True)
    by_name = prepared.Prepared(
        lambda name: django_user_model.objects.filter(username=name).values_list("date_joined", "is_staff", "username"),
        "name",
    )
    assert by_name.rows(name="ada") == [(user.date_joined, True, "ada")]


def test_a_repository_by_name_is_the_whole_row_in_one_statement(registry, django_assert_num_queries):
    registry.push_image("team/app", "v1")
    stored = Repository.objects.get(name="team/app")
    with django_assert_num_queries(1):
        found = repositories.named("team/app")
        assert (found.pk, found.is_public, found.created_at, found.tag_count) == (
            stored.pk,
            stored.is_public,
            stored.created_at,
            stored.tag_count,
        )
    with django_assert_num_queries(1):
        assert repositories.named("team/none") is None
    with django_assert_num_queries(0):
        assert repositories.named("team/\x00app") is None  # PostgreSQL refuses to compare a NUL
