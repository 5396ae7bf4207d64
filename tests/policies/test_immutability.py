"""Immutable tags: moving or deleting them is DENIED; the same digest again is accepted; staff lift the rule
by changing the policy, which is recorded."""

import pytest

from images import digests, manifest_formats
from images.errors import Denied
from images.models import Tag
from images.services import manifests
from policies.models import PolicyChange
from policies.services import rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def v12(registry, operator):
    rules.set_policy(operator, "team", {"immutable": ["v*"]})
    return registry.push_image("team/app", "v1.2", config=b'{"n":1}')


def test_moving_an_immutable_tag_is_denied(registry, v12):
    with pytest.raises(Denied, match="tag v1.2 is immutable"):
        registry.push_image("team/app", "v1.2", config=b'{"n":2}')
    assert Tag.objects.get(name="v1.2").manifest.digest == digests.of_bytes(v12)


def test_same_digest_again_is_accepted(v12):
    manifest, _ = manifests.put("team/app", "v1.2", v12, manifest_formats.OCI_MANIFEST)
    assert manifest.digest == digests.of_bytes(v12)


def test_other_tags_move_freely(registry, v12):
    registry.push_image("team/app", "latest", config=b'{"n":1}')
    registry.push_image("team/app", "latest", config=b'{"n":2}')


def test_deleting_an_immutable_tag_or_its_manifest_is_denied(v12):
    with pytest.raises(Denied, match="tag v1.2 is immutable"):
        manifests.delete("team/app", "v1.2")
    with pytest.raises(Denied, match="tag v1.2 is immutable"):
        manifests.delete("team/app", digests.of_bytes(v12))
    assert Tag.objects.filter(name="v1.2").exists()


def test_a_repository_rule_applies_only_to_matching_repositories(registry, operator):
    rules.set_policy(operator, "team/web-*", {"immutable": ["release-*"]})
    registry.push_image("team/web-front", "release-1", config=b'{"n":1}')
    registry.push_image("team/api", "release-1", config=b'{"n":1}')
    with pytest.raises(Denied):
        registry.push_image("team/web-front", "release-1", config=b'{"n":2}')
    registry.push_image("team/api", "release-1", config=b'{"n":2}')


def test_staff_lift_the_rule_and_it_is_recorded(registry, v12, operator):
    rules.clear_policy(operator, "team")
    registry.push_image("team/app", "v1.2", config=b'{"n":2}')
    change = PolicyChange.objects.filter(action="clear").get()
    assert change.before["immutable"] == ["v*"] and change.actor == "manage.py"


def test_deleting_the_repository_is_denied_while_it_holds_an_immutable_tag(v12):
    from images.services import repositories

    with pytest.raises(Denied, match="tag v1.2 is immutable"):
        repositories.delete_repository("team/app")
    assert Tag.objects.filter(name="v1.2").exists()


def test_v1_tag_and_repository_deletes_are_denied_too(v12):
    from images.services import v1_repositories

    with pytest.raises(Denied, match="tag v1.2 is immutable"):
        v1_repositories.delete_tag("team/app", "v1.2")
    with pytest.raises(Denied, match="tag v1.2 is immutable"):
        v1_repositories.delete_repository("team/app")
    assert Tag.objects.filter(name="v1.2").exists()
