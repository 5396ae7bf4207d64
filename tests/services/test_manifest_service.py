"""Manifest push/fetch/delete: references checked first, rows written together, shared content stored once."""

import json

import pytest

from images import digests, manifest_formats
from images.errors import (
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameUnknown,
    PayloadTooLarge,
    TagInvalid,
)
from images.models import Manifest, ManifestChild, ManifestLayer, Repository, RepositoryManifest, Tag
from images.services import manifests

pytestmark = pytest.mark.django_db


def assert_no_manifest_rows():
    assert not Manifest.objects.exists()
    assert not ManifestLayer.objects.exists()
    assert not ManifestChild.objects.exists()
    assert not RepositoryManifest.objects.exists()
    assert not Tag.objects.exists()


def test_put_stores_manifest_references_and_tag(registry):
    data = registry.push_image("team/app", "v1", layers=(b"one", b"two"))
    manifest = Manifest.objects.get()
    assert bytes(manifest.payload) == data
    assert manifest.digest == digests.of_bytes(data)
    assert manifest.media_type == manifest_formats.OCI_MANIFEST
    assert manifest.config_digest == digests.of_bytes(b"{}")
    assert list(manifest.layers.values_list("position", "digest")) == [
        (-1, digests.of_bytes(b"{}")),
        (0, digests.of_bytes(b"one")),
        (1, digests.of_bytes(b"two")),
    ]
    assert Tag.objects.get(repository__name="team/app", name="v1").manifest == manifest
    assert Repository.objects.get(name="team/app").last_push_at is not None


def test_unknown_blob_leaves_no_manifest_tag_or_link(registry):
    registry.push_blob("team/app", b"{}")
    registry.push_blob("team/app", b"known")
    data = registry.image_manifest(layers=(b"known", b"missing-1", b"missing-2"))
    with pytest.raises(ManifestBlobUnknown) as excinfo:
        manifests.put("team/app", "latest", data, manifest_formats.OCI_MANIFEST)
    assert excinfo.value.detail == {"digests": sorted([digests.of_bytes(b"missing-1"), digests.of_bytes(b"missing-2")])}
    assert_no_manifest_rows()


def test_unknown_blob_in_a_new_repository_does_not_create_it(registry):
    with pytest.raises(ManifestBlobUnknown):
        manifests.put("new/repo", "latest", registry.image_manifest(), manifest_formats.OCI_MANIFEST)
    assert not Repository.objects.exists()
    assert_no_manifest_rows()


def test_blobs_of_another_repository_are_unknown(registry):
    registry.push_image("a/one")
    with pytest.raises(ManifestBlobUnknown):
        manifests.put("b/two", "latest", registry.image_manifest(), manifest_formats.OCI_MANIFEST)
    assert not RepositoryManifest.objects.filter(repository__name="b/two").exists()


def test_index_with_an_unknown_child_leaves_nothing(registry):
    child = registry.push_image("team/app", "amd64")
    index = registry.index_manifest(
        (child, {"os": "linux", "architecture": "amd64"}),
        (registry.image_manifest(layers=(b"never pushed",)), {"os": "linux", "architecture": "arm64"}),
    )
    with pytest.raises(ManifestUnknown):
        manifests.put("team/app", "latest", index, manifest_formats.OCI_INDEX)
    assert Manifest.objects.count() == 1
    assert not ManifestChild.objects.exists()
    assert list(Tag.objects.values_list("name", flat=True)) == ["amd64"]


@pytest.mark.parametrize(
    ("reference", "data", "error"),
    [
        ("latest", b"{not json", ManifestInvalid),
        ("-bad-tag", None, TagInvalid),
        ("sha256:" + "0" * 64, None, DigestInvalid),
        ("sha256:short", None, DigestInvalid),
    ],
)
def test_refused_manifests_leave_nothing(registry, reference, data, error):
    registry.push_blob("team/app", b"{}")
    registry.push_blob("team/app", b"layer")
    with pytest.raises(error):
        manifests.put("team/app", reference, data or registry.image_manifest(), manifest_formats.OCI_MANIFEST)
    assert_no_manifest_rows()


def test_size_limit(registry, settings):
    settings.REGISTRY = {"MAX_MANIFEST_BYTES": 100}
    with pytest.raises(PayloadTooLarge) as excinfo:
        manifests.put("team/app", "latest", b" " * 101, manifest_formats.OCI_MANIFEST)
    assert excinfo.value.status == 413
    assert_no_manifest_rows()


def test_put_by_matching_digest_creates_no_tag(registry):
    data = registry.image_manifest()
    registry.push_blob("team/app", b"{}")
    registry.push_blob("team/app", b"layer")
    manifest, parsed = manifests.put("team/app", digests.of_bytes(data), data, manifest_formats.OCI_MANIFEST)
    assert manifest.digest == parsed.digest == digests.of_bytes(data)
    assert RepositoryManifest.objects.filter(repository__name="team/app", manifest=manifest).exists()
    assert not Tag.objects.exists()


def test_identical_manifest_in_two_repositories_is_stored_once(registry):
    first = registry.push_image("a/one", layers=(b"l1", b"l2"))
    second = registry.push_image("b/two", "stable", layers=(b"l1", b"l2"))
    assert first == second
    manifest = Manifest.objects.get()
    assert ManifestLayer.objects.filter(manifest=manifest).count() == 3
    assert set(RepositoryManifest.objects.values_list("repository__name", flat=True)) == {"a/one", "b/two"}
    assert set(Tag.objects.values_list("repository__name", "name")) == {("a/one", "latest"), ("b/two", "stable")}
    assert manifests.get("a/one", "latest") == manifests.get("b/two", "stable") == manifest


def test_pushing_the_same_manifest_twice_is_idempotent(registry):
    data = registry.push_image("team/app")
    manifests.put("team/app", "latest", data, manifest_formats.OCI_MANIFEST)
    assert Manifest.objects.count() == RepositoryManifest.objects.count() == Tag.objects.count() == 1


def test_a_tag_moves_to_the_newest_manifest(registry):
    old = registry.push_image("team/app", layers=(b"old",))
    new = registry.push_image("team/app", layers=(b"new",))
    assert bytes(manifests.get("team/app", "latest").payload) == new
    assert bytes(manifests.get("team/app", digests.of_bytes(old)).payload) == old
    assert Tag.objects.count() == 1


def test_get_errors(registry):
    registry.push_image("team/app")
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", "nope")
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", digests.of_bytes(b"nope"))
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", "not a valid reference!")
    with pytest.raises(NameUnknown):
        manifests.get("no/such", "latest")


def test_delete_by_tag_only_untags(registry):
    data = registry.push_image("team/app", "v1")
    manifests.put("team/app", "v2", data, manifest_formats.OCI_MANIFEST)
    manifests.delete("team/app", "v1")
    assert list(Tag.objects.values_list("name", flat=True)) == ["v2"]
    assert manifests.get("team/app", digests.of_bytes(data))
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", "v1")
    with pytest.raises(ManifestUnknown):
        manifests.delete("team/app", "v1")


def test_delete_by_digest_removes_the_manifest_and_its_tags_from_one_repository(registry):
    data = registry.push_image("team/app", "v1")
    manifests.put("team/app", "v2", data, manifest_formats.OCI_MANIFEST)
    other = registry.push_image("team/app", "other", layers=(b"other",))
    registry.push_image("mirror/app", "v1")

    manifests.delete("team/app", digests.of_bytes(data))

    assert list(Tag.objects.filter(repository__name="team/app").values_list("name", flat=True)) == ["other"]
    with pytest.raises(ManifestUnknown):
        manifests.get("team/app", digests.of_bytes(data))
    assert bytes(manifests.get("team/app", "other").payload) == other
    assert bytes(manifests.get("mirror/app", "v1").payload) == data
    assert Manifest.objects.filter(digest=digests.of_bytes(data)).exists()  # still used by mirror/app
    with pytest.raises(ManifestUnknown):
        manifests.delete("team/app", digests.of_bytes(data))


def test_delete_in_an_unknown_repository(registry):
    with pytest.raises(NameUnknown):
        manifests.delete("no/such", "latest")


def test_index_children_and_platform_child(registry):
    amd64 = registry.push_image("team/app", "amd64", layers=(b"amd64",))
    arm64 = registry.push_image("team/app", "arm64", layers=(b"arm64",))
    index = registry.index_manifest(
        (arm64, {"os": "linux", "architecture": "arm64"}), (amd64, {"os": "linux", "architecture": "amd64"})
    )
    manifest, _ = manifests.put("team/app", "latest", index, manifest_formats.OCI_INDEX)
    assert list(manifest.children.values_list("position", "digest")) == [
        (0, digests.of_bytes(arm64)),
        (1, digests.of_bytes(amd64)),
    ]
    assert manifests.platform_child("team/app", manifest).digest == digests.of_bytes(amd64)
    assert manifests.platform_child("team/app", manifest, ("windows", "amd64")) is None


def test_referrers_lists_manifests_whose_subject_is_the_digest(registry):
    subject = registry.push_image("team/app")
    descriptor = {"mediaType": manifest_formats.OCI_MANIFEST, "digest": digests.of_bytes(subject), "size": len(subject)}
    sbom = registry.push_image(
        "team/app", "sbom", layers=(b"sbom",), subject=descriptor, artifactType="application/vnd.example.sbom"
    )
    sig = registry.push_image(
        "team/app", "sig", layers=(b"sig",), subject=descriptor, annotations={"org.example.signed-by": "me"}
    )
    registry.push_image("other/app", "sig", layers=(b"sig",), subject=descriptor)

    entries = manifests.referrers("team/app", digests.of_bytes(subject))
    assert entries == [
        {
            "mediaType": manifest_formats.OCI_MANIFEST,
            "digest": digests.of_bytes(sbom),
            "size": len(sbom),
            "artifactType": "application/vnd.example.sbom",
        },
        {
            "mediaType": manifest_formats.OCI_MANIFEST,
            "digest": digests.of_bytes(sig),
            "size": len(sig),
            "artifactType": "application/vnd.oci.image.config.v1+json",
            "annotations": {"org.example.signed-by": "me"},
        },
    ]
    filtered = manifests.referrers("team/app", digests.of_bytes(subject), "application/vnd.example.sbom")
    assert [e["digest"] for e in filtered] == [digests.of_bytes(sbom)]
    assert manifests.referrers("team/app", digests.of_bytes(b"nothing")) == []
    assert json.loads(sig)["subject"] == descriptor
