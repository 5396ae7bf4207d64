"""PUT / GET / HEAD / DELETE /v2/<name>/manifests/<reference> for every supported media type."""

import json

import pytest

from images import manifest_formats
from images.digests import of_bytes as sha256
from images.models import Manifest, RepositoryManifest, Tag

pytestmark = pytest.mark.django_db

ALL_TYPES = [
    manifest_formats.DOCKER_MANIFEST,
    manifest_formats.DOCKER_LIST,
    manifest_formats.OCI_MANIFEST,
    manifest_formats.OCI_INDEX,
]
ACCEPT_ALL = ", ".join(ALL_TYPES)
ARTIFACT_TYPE = "application/vnd.example.sbom.v1+json"


def assert_manifest_response(response, pushed, content=True):
    assert response.status_code == 200
    assert response["Content-Type"] == pushed.media_type
    assert response["Docker-Content-Digest"] == pushed.digest
    assert response["Content-Length"] == str(pushed.size)
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.content == (pushed.data if content else b"")


@pytest.mark.parametrize("media_type", ALL_TYPES)
def test_put_answers_201_with_location_and_digest(registry, media_type):
    pushed = registry.push(media_type, "team/app", "v1")
    response = registry.put_manifest("team/app", "v1", pushed.data, media_type)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/team/app/manifests/{pushed.digest}"
    assert response["Docker-Content-Digest"] == pushed.digest
    assert "OCI-Subject" not in response
    assert Manifest.objects.get(digest=pushed.digest).media_type == media_type


@pytest.mark.parametrize("media_type", ALL_TYPES)
def test_get_and_head_return_the_exact_bytes_by_tag_and_by_digest(registry, client, media_type):
    pushed = registry.push(media_type, "team/app", "v1")
    for reference in ("v1", pushed.digest):
        assert_manifest_response(client.get(f"/v2/team/app/manifests/{reference}"), pushed)
        assert_manifest_response(client.get(f"/v2/team/app/manifests/{reference}", HTTP_ACCEPT=ACCEPT_ALL), pushed)
        assert_manifest_response(client.head(f"/v2/team/app/manifests/{reference}"), pushed, content=False)


@pytest.mark.parametrize("media_type", ALL_TYPES)
def test_delete_by_digest(registry, client, assert_error, media_type):
    pushed = registry.push(media_type, "team/app", "v1")
    registry.put_manifest("team/app", "v2", pushed.data, media_type)
    response = client.delete(f"/v2/team/app/manifests/{pushed.digest}")
    assert response.status_code == 202
    for reference in (pushed.digest, "v1", "v2"):
        assert_error(client.get(f"/v2/team/app/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")
        assert client.head(f"/v2/team/app/manifests/{reference}").status_code == 404
    assert client.get("/v2/team/app/tags/list").json()["tags"] == []
    assert_error(client.delete(f"/v2/team/app/manifests/{pushed.digest}"), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag_only_untags(registry, client, assert_error):
    pushed = registry.push_image("team/app", "v1")
    registry.put_manifest("team/app", "v2", pushed.data, pushed.media_type)
    assert client.delete("/v2/team/app/manifests/v1").status_code == 202
    assert_error(client.get("/v2/team/app/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert_manifest_response(client.get("/v2/team/app/manifests/v2"), pushed)
    assert_manifest_response(client.get(f"/v2/team/app/manifests/{pushed.digest}"), pushed)
    assert client.get("/v2/team/app/tags/list").json()["tags"] == ["v2"]
    assert_error(client.delete("/v2/team/app/manifests/v1"), 404, "MANIFEST_UNKNOWN")


def test_delete_in_one_repository_leaves_the_other(registry, client):
    first = registry.push_image("team/app", "v1")
    registry.push_image("team/mirror", "v1")
    client.delete(f"/v2/team/app/manifests/{first.digest}")
    assert_manifest_response(client.get("/v2/team/mirror/manifests/v1"), first)
    assert Manifest.objects.count() == 1
    assert list(RepositoryManifest.objects.values_list("repository__name", flat=True)) == ["team/mirror"]


def test_delete_unknown(registry, client, assert_error):
    registry.push_image("team/app")
    assert_error(client.delete("/v2/team/app/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.delete(f"/v2/team/app/manifests/{sha256(b'x')}"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.delete("/v2/no/such/manifests/latest"), 404, "NAME_UNKNOWN")


def test_get_unknown(registry, client, assert_error):
    registry.push_image("team/app")
    assert_error(client.get("/v2/team/app/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/team/app/manifests/{sha256(b'x')}"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get("/v2/team/app/manifests/-not-a-tag"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get("/v2/no/such/manifests/latest"), 404, "NAME_UNKNOWN")
    assert client.head("/v2/team/app/manifests/nope").status_code == 404


def test_manifest_of_another_repository_is_unknown(registry, client, assert_error):
    pushed = registry.push_image("team/app")
    registry.push_blob("team/other", b"x")
    assert_error(client.get(f"/v2/team/other/manifests/{pushed.digest}"), 404, "MANIFEST_UNKNOWN")


def test_a_tag_moves_when_pushed_again(registry, client):
    old = registry.push_image("team/app", layers=(b"old",))
    new = registry.push_image("team/app", layers=(b"new",))
    assert_manifest_response(client.get("/v2/team/app/manifests/latest"), new)
    assert_manifest_response(client.get(f"/v2/team/app/manifests/{old.digest}"), old)


def test_artifact_with_subject(registry, client):
    subject = registry.push_image("team/app")
    artifact = registry.image_manifest(
        manifest_formats.OCI_MANIFEST,
        config=b"{}",
        layers=(b"sbom",),
        artifactType=ARTIFACT_TYPE,
        subject=subject.descriptor(),
    )
    for data in (b"{}", b"sbom"):
        registry.push_blob("team/app", data)
    response = registry.put_manifest("team/app", sha256(artifact), artifact, manifest_formats.OCI_MANIFEST)
    assert response.status_code == 201
    assert response["OCI-Subject"] == subject.digest
    assert response["Docker-Content-Digest"] == sha256(artifact)
    got = client.get(f"/v2/team/app/manifests/{sha256(artifact)}")
    assert got.content == artifact
    assert got["Content-Type"] == manifest_formats.OCI_MANIFEST


def test_subject_may_be_unknown(registry):
    for data in (b"{}", b"sig"):
        registry.push_blob("team/app", data)
    missing = {"mediaType": manifest_formats.OCI_MANIFEST, "digest": sha256(b"not pushed yet"), "size": 14}
    artifact = registry.image_manifest(manifest_formats.OCI_MANIFEST, config=b"{}", layers=(b"sig",), subject=missing)
    response = registry.put_manifest("team/app", "sig", artifact, manifest_formats.OCI_MANIFEST)
    assert response.status_code == 201
    assert response["OCI-Subject"] == missing["digest"]


def test_put_by_digest(registry, client):
    data = registry.image_manifest()
    for blob in (b'{"architecture":"amd64","os":"linux"}', b"layer"):
        registry.push_blob("team/app", blob)
    response = registry.put_manifest("team/app", sha256(data), data, manifest_formats.OCI_MANIFEST)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/team/app/manifests/{sha256(data)}"
    assert client.get(f"/v2/team/app/manifests/{sha256(data)}").content == data
    assert client.get("/v2/team/app/tags/list").json()["tags"] == []


def test_put_by_a_digest_that_does_not_match(registry, client, assert_error):
    pushed = registry.push_image("team/app", "v1")
    other = sha256(b"something else")
    assert_error(registry.put_manifest("team/app", other, pushed.data, pushed.media_type), 400, "DIGEST_INVALID")
    assert_error(client.get(f"/v2/team/app/manifests/{other}"), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("reference", ["sha256:abc", "sha256:" + "A" * 64, "md5:" + "0" * 32])
def test_put_by_an_invalid_digest(registry, assert_error, reference):
    pushed = registry.push_image("team/app", "v1")
    assert_error(registry.put_manifest("team/app", reference, pushed.data, pushed.media_type), 400, "DIGEST_INVALID")


@pytest.mark.parametrize("media_type", [manifest_formats.DOCKER_MANIFEST, manifest_formats.OCI_MANIFEST])
def test_unknown_blobs(registry, client, assert_error, media_type):
    config = b'{"architecture":"amd64","os":"linux"}'
    registry.push_blob("team/app", config)
    registry.push_blob("team/app", b"present")
    data = registry.image_manifest(media_type, config, (b"present", b"missing"))
    error = assert_error(registry.put_manifest("team/app", "v1", data, media_type), 400, "MANIFEST_BLOB_UNKNOWN")
    assert error["detail"] == {"digests": [sha256(b"missing")]}
    assert_error(client.get("/v2/team/app/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert not Manifest.objects.exists()
    assert not Tag.objects.exists()


@pytest.mark.parametrize("media_type", [manifest_formats.DOCKER_LIST, manifest_formats.OCI_INDEX])
def test_unknown_child_manifests(registry, client, assert_error, media_type):
    child = registry.push_image("team/app", "child", manifest_formats.OCI_MANIFEST)
    never_pushed = registry.image_manifest(manifest_formats.OCI_MANIFEST, layers=(b"never",))
    stranger = registry.unpushed("team/app", never_pushed, manifest_formats.OCI_MANIFEST)
    data = registry.index_manifest(media_type, [(child, None), (stranger, None)])
    error = assert_error(registry.put_manifest("team/app", "list", data, media_type), 404, "MANIFEST_UNKNOWN")
    assert error["detail"] == {"digests": [stranger.digest]}
    assert_error(client.get("/v2/team/app/manifests/list"), 404, "MANIFEST_UNKNOWN")


def test_manifest_larger_than_4_mib(registry, assert_error):
    data = registry.image_manifest()
    for blob in (b'{"architecture":"amd64","os":"linux"}', b"layer"):
        registry.push_blob("team/app", blob)
    limit = 4 * 1024 * 1024
    exactly = data + b" " * (limit - len(data))
    assert registry.put_manifest("team/app", "fits", exactly, manifest_formats.OCI_MANIFEST).status_code == 201
    too_big = exactly + b" "
    assert_error(registry.put_manifest("team/app", "big", too_big, manifest_formats.OCI_MANIFEST), 413, "SIZE_INVALID")
    assert not Tag.objects.filter(name="big").exists()


@pytest.mark.parametrize("tag", ["-dash", ".dot", "a" * 129, "bad!", "tag+plus", "caf%C3%A9", "latest%0A"])
def test_invalid_tag(registry, assert_error, tag):
    pushed = registry.push_image("team/app", "v1")
    assert_error(registry.put_manifest("team/app", tag, pushed.data, pushed.media_type), 400, "TAG_INVALID")
    assert list(Tag.objects.values_list("name", flat=True)) == ["v1"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", manifest_formats.OCI_MANIFEST),
        (b"", manifest_formats.OCI_MANIFEST),
        (b'{"schemaVersion": 2, "mediaType": "\xff\xfe"}', manifest_formats.OCI_MANIFEST),
        (b"[]", manifest_formats.OCI_MANIFEST),
        (
            json.dumps({"schemaVersion": 1, "name": "team/app", "fsLayers": []}).encode(),
            manifest_formats.DOCKER_SCHEMA1[1],
        ),
        (json.dumps({"schemaVersion": 1, "name": "team/app", "fsLayers": []}).encode(), "application/json"),
        (
            json.dumps({"schemaVersion": 2, "mediaType": manifest_formats.OCI_MANIFEST, "config": {}}).encode(),
            manifest_formats.OCI_MANIFEST,
        ),
        (
            json.dumps({"schemaVersion": 2, "mediaType": manifest_formats.OCI_INDEX, "manifests": []}).encode(),
            manifest_formats.OCI_MANIFEST,
        ),
        (json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode(), "text/plain"),
    ],
    ids=[
        "bad-json",
        "empty",
        "bad-utf8",
        "array",
        "schema1",
        "schema1-json",
        "bad-config",
        "type-mismatch",
        "unsupported",
    ],
)
def test_invalid_manifests(client, assert_error, data, content_type):
    response = client.put("/v2/team/app/manifests/latest", data, content_type=content_type)
    assert_error(response, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream", "text/plain", "x/y; a=b"])
def test_a_content_type_that_is_no_manifest_type_is_refused(registry, client, assert_error, content_type):
    pushed = registry.push_image("team/app", "v1", manifest_formats.DOCKER_MANIFEST)
    assert_error(registry.put_manifest("team/app", "v2", pushed.data, content_type), 400, "MANIFEST_INVALID")
    assert client.get("/v2/team/app/manifests/v2").status_code == 404


def test_a_content_type_naming_another_manifest_type_than_the_body_is_refused(registry, client, assert_error):
    pushed = registry.push_image("team/app", "v1", manifest_formats.DOCKER_MANIFEST)
    for other in (manifest_formats.OCI_MANIFEST, manifest_formats.OCI_INDEX, manifest_formats.DOCKER_LIST):
        assert_error(registry.put_manifest("team/app", "v2", pushed.data, other), 400, "MANIFEST_INVALID")
    assert client.get("/v2/team/app/manifests/v2").status_code == 404


def test_without_a_content_type_the_body_names_the_type(registry, client):
    pushed = registry.push_image("team/app", "v1", manifest_formats.DOCKER_MANIFEST)
    response = client.generic("PUT", "/v2/team/app/manifests/v2", pushed.data, content_type="")
    assert response.status_code == 201, response.content
    assert client.get("/v2/team/app/manifests/v2")["Content-Type"] == manifest_formats.DOCKER_MANIFEST


@pytest.mark.parametrize(
    ("index_type", "child_type"),
    [
        (manifest_formats.DOCKER_LIST, manifest_formats.DOCKER_MANIFEST),
        (manifest_formats.OCI_INDEX, manifest_formats.OCI_MANIFEST),
    ],
)
def test_index_asked_for_with_only_image_types_returns_the_linux_amd64_child(registry, client, index_type, child_type):
    index = registry.push_index("team/app", "multi", index_type)
    amd64 = index.children[0]
    assert json.loads(amd64.data)["config"]["digest"] == sha256(b'{"architecture": "amd64", "os": "linux"}')
    only_images = f"{manifest_formats.DOCKER_MANIFEST}, {manifest_formats.OCI_MANIFEST}"
    for reference in ("multi", index.digest):
        assert_manifest_response(client.get(f"/v2/team/app/manifests/{reference}", HTTP_ACCEPT=only_images), amd64)
        head = client.head(f"/v2/team/app/manifests/{reference}", HTTP_ACCEPT=only_images)
        assert_manifest_response(head, amd64, content=False)
        response = client.get(f"/v2/team/app/manifests/{reference}", HTTP_ACCEPT=f"{child_type};q=0.9")
        assert_manifest_response(response, amd64)
        for accept in (f"{only_images}, {index_type}", index_type, "application/json", ""):
            assert_manifest_response(client.get(f"/v2/team/app/manifests/{reference}", HTTP_ACCEPT=accept), index)


def test_index_without_linux_amd64_is_served_as_is(registry, client):
    arm_only = registry.push_index(
        "team/app", "arm", manifest_formats.DOCKER_LIST, platforms=[{"os": "linux", "architecture": "arm64"}]
    )
    response = client.get("/v2/team/app/manifests/arm", HTTP_ACCEPT=manifest_formats.DOCKER_MANIFEST)
    assert_manifest_response(response, arm_only)


def test_image_manifests_are_served_whatever_the_accept_header(registry, client):
    pushed = registry.push_image("team/app", "v1", manifest_formats.DOCKER_MANIFEST)
    assert_manifest_response(client.get("/v2/team/app/manifests/v1", HTTP_ACCEPT=manifest_formats.OCI_INDEX), pushed)


@pytest.fixture
def bookkeeping_in_the_pool(settings):
    """As in production: a pull's bookkeeping runs in the background pool, not among the request's queries
    (the suite runs it inline otherwise: tests/conftest.py)."""
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": False}


@pytest.mark.usefixtures("bookkeeping_in_the_pool")
def test_get_by_tag_costs_a_constant_number_of_queries(registry, client, django_assert_max_num_queries):
    small = registry.push_image("team/small", "v1")
    big = registry.push_image("team/big", "v1", layers=tuple(f"layer {i}".encode() for i in range(30)))
    for i in range(30):
        registry.put_manifest("team/big", f"tag-{i}", big.data, big.media_type)
    for pushed in (small, big):
        with django_assert_max_num_queries(1):
            response = client.get(f"/v2/{pushed.repository}/manifests/v1")
        assert response.content == pushed.data
        with django_assert_max_num_queries(1):
            assert client.head(f"/v2/{pushed.repository}/manifests/v1").status_code == 200


@pytest.mark.usefixtures("bookkeeping_in_the_pool")
def test_negotiated_get_costs_a_constant_number_of_queries(registry, client, django_assert_max_num_queries):
    platforms = [{"os": "linux", "architecture": arch} for arch in ("arm64", "ppc64le", "s390x", "386", "amd64")]
    index = registry.push_index("team/app", "multi", manifest_formats.OCI_INDEX, platforms=platforms)
    with django_assert_max_num_queries(3):
        response = client.get("/v2/team/app/manifests/multi", HTTP_ACCEPT=manifest_formats.OCI_MANIFEST)
    assert response.content == index.children[-1].data
