"""GET /v2/<name>/referrers/<digest> (OCI 1.1): always an image index, optionally filtered."""

import json
from urllib.parse import quote

import pytest

from images import manifest_formats
from images.digests import of_bytes as sha256

pytestmark = pytest.mark.django_db

SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1+json"


def push_artifact(registry, repository, subject, layer, artifact_type=None, annotations=None):
    extra = {"subject": subject.descriptor()}
    if artifact_type:
        extra["artifactType"] = artifact_type
    if annotations:
        extra["annotations"] = annotations
    for data in (b"{}", layer):
        registry.push_blob(repository, data)
    data = registry.image_manifest(manifest_formats.OCI_MANIFEST, config=b"{}", layers=(layer,), **extra)
    return registry.push_manifest(repository, sha256(data), data, manifest_formats.OCI_MANIFEST)


def get_index(client, path, **headers):
    response = client.get(path, **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == manifest_formats.OCI_INDEX
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    body = json.loads(response.content)
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == manifest_formats.OCI_INDEX
    return response, body["manifests"]


def test_unknown_digest_gives_an_empty_index(registry, client):
    registry.push_image("team/app")
    response, entries = get_index(client, f"/v2/team/app/referrers/{sha256(b'unknown')}")
    assert entries == []
    assert "OCI-Filters-Applied" not in response


def test_unknown_repository_gives_an_empty_index(client):
    _, entries = get_index(client, f"/v2/no/such/referrers/{sha256(b'unknown')}")
    assert entries == []


def test_lists_referrers_with_their_descriptors(registry, client):
    subject = registry.push_image("team/app")
    sbom = push_artifact(registry, "team/app", subject, b"sbom", SBOM, {"org.example.kind": "spdx"})
    plain = push_artifact(registry, "team/app", subject, b"plain")
    push_artifact(registry, "team/other", subject, b"elsewhere", SBOM)  # other repository: not listed
    push_artifact(registry, "team/app", sbom, b"signature of the sbom", SIGNATURE)  # refers to the sbom instead

    _, entries = get_index(client, f"/v2/team/app/referrers/{subject.digest}")
    assert sorted(entries, key=lambda e: e["digest"]) == sorted(
        [
            {
                "mediaType": manifest_formats.OCI_MANIFEST,
                "digest": sbom.digest,
                "size": sbom.size,
                "artifactType": SBOM,
                "annotations": {"org.example.kind": "spdx"},
            },
            {
                "mediaType": manifest_formats.OCI_MANIFEST,
                "digest": plain.digest,
                "size": plain.size,
                "artifactType": "application/vnd.oci.image.config.v1+json",  # the config's media type
            },
        ],
        key=lambda e: e["digest"],
    )


def test_artifact_type_filter(registry, client):
    subject = registry.push_image("team/app")
    sbom = push_artifact(registry, "team/app", subject, b"sbom", SBOM)
    push_artifact(registry, "team/app", subject, b"sig", SIGNATURE)

    response, entries = get_index(client, f"/v2/team/app/referrers/{subject.digest}?artifactType={quote(SBOM)}")
    assert [e["digest"] for e in entries] == [sbom.digest]
    assert response["OCI-Filters-Applied"] == "artifactType"

    response, entries = get_index(client, f"/v2/team/app/referrers/{subject.digest}?artifactType=application/none")
    assert entries == []
    assert response["OCI-Filters-Applied"] == "artifactType"


def test_deleted_referrer_is_no_longer_listed(registry, client):
    subject = registry.push_image("team/app")
    sbom = push_artifact(registry, "team/app", subject, b"sbom", SBOM)
    assert client.delete(f"/v2/team/app/manifests/{sbom.digest}").status_code == 202
    _, entries = get_index(client, f"/v2/team/app/referrers/{subject.digest}")
    assert entries == []


@pytest.mark.parametrize("digest", ["latest", "sha256:abc", "sha256:" + "Z" * 64])
def test_invalid_digest(client, assert_error, digest):
    assert_error(client.get(f"/v2/team/app/referrers/{digest}"), 400, "DIGEST_INVALID")
