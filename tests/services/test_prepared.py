"""Prepared queries: compiled once, bound per call, and the same rows as the queryset they came from."""

import pytest

from images.models import Manifest, Repository
from images.services import manifests, prepared

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
