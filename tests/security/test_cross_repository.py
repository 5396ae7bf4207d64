"""No cross-repository leaks over the v2 API: a blob or manifest of private acme/priv is never served
through another repository (even one the caller may read), nor through acme/priv to callers who may not
read it; a mount from it is never made for them and does not reveal that the blob exists."""

import json

import pytest

from images.models import RepositoryBlob
from tests.security.conftest import as_user

REFUSED = {401: "UNAUTHORIZED", 403: "DENIED", 404: "BLOB_UNKNOWN"}
# (caller, repository asked) for each way of asking for a blob that is not the caller's to have.
BLOB_ATTEMPTS = [
    ("eve", "eve/app"),  # her own repository: the blob exists, but not there
    ("eve", "acme/pub"),  # a repository she may read
    ("eve", "acme/priv"),  # the repository that holds it, which she may not read
    (None, "acme/pub"),
    (None, "acme/priv"),
    (None, "eve/app"),
]


def assert_refused(response, codes=("BLOB_UNKNOWN",), secret_bytes=b""):
    assert response.status_code in (401, 403, 404), response.status_code
    if response.request["REQUEST_METHOD"] == "HEAD":
        assert "Docker-Content-Digest" not in response
        return
    body = response.content
    assert json.loads(body)["errors"][0]["code"] in {*codes, "UNAUTHORIZED", "DENIED"}
    assert not secret_bytes or secret_bytes not in body


def blob_bytes(digest):
    from images.services import blobs

    link = RepositoryBlob.objects.select_related("blob").get(repository__name="acme/priv", blob__digest=digest)
    with blobs.open_bytes(link.blob) as handle:
        return handle.read()


@pytest.mark.parametrize("via", ["basic", "bearer"])
@pytest.mark.parametrize("who,repository", BLOB_ATTEMPTS)
def test_private_blob_is_never_served_elsewhere(secret, api, who, repository, via):
    for digest in secret.blobs:
        scopes = [f"repository:{repository}:pull"]
        headers = as_user(who, api if via == "bearer" else None, scopes)
        data = blob_bytes(digest)
        for method in (api.get, api.head):
            response = method(f"/v2/{repository}/blobs/{digest}", HTTP_RANGE="bytes=0-", **headers)
            assert_refused(response, secret_bytes=data[:64])


@pytest.mark.parametrize("who,repository", BLOB_ATTEMPTS)
def test_private_manifest_and_referrers_are_never_served_elsewhere(secret, api, who, repository):
    headers = as_user(who)
    for method in (api.get, api.head):
        response = method(f"/v2/{repository}/manifests/{secret.manifest}", **headers)
        assert_refused(response, codes=("MANIFEST_UNKNOWN",))
    referrers = api.get(f"/v2/{repository}/referrers/{secret.manifest}", **headers)
    if referrers.status_code == 200:  # a repository the caller may read: an empty list, never acme/priv's
        assert referrers.json()["manifests"] == []
    else:
        assert_refused(referrers)
    assert secret.referrer not in referrers.content.decode()


def test_readers_of_the_private_repository_get_it(secret, api):
    """The control: the same requests succeed for a member, so the refusals above are about access."""
    headers = as_user("tom")
    for digest in secret.blobs:
        response = api.get(f"/v2/acme/priv/blobs/{digest}", **headers)
        assert response.status_code == 200 and b"".join(response.streaming_content) == blob_bytes(digest)
    assert api.get(f"/v2/acme/priv/manifests/{secret.manifest}", **headers).status_code == 200
    listed = api.get(f"/v2/acme/priv/referrers/{secret.manifest}", **headers).json()["manifests"]
    assert [m["digest"] for m in listed] == [secret.referrer]


def mount(api, target, digest, source, headers):
    return api.post(f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}", **headers)


def session_shape(response):
    """What a client learns from an upload answer, minus the session's own id."""
    headers = {key for key, _ in response.items()} - {"X-Request-Id"}
    return response.status_code, sorted(headers), response["Range"]


@pytest.mark.parametrize("via", ["basic", "bearer"])
def test_no_mount_from_a_repository_the_caller_cannot_read(secret, api, via):
    scopes = ["repository:eve/app:pull,push", "repository:acme/priv:pull"]
    headers = as_user("eve", api if via == "bearer" else None, scopes)
    unknown = "sha256:" + "0" * 64
    baseline = mount(api, "eve/app", unknown, "acme/priv", headers)
    for digest in secret.blobs:
        response = mount(api, "eve/app", digest, "acme/priv", headers)
        # Per spec a refused mount is a plain upload session: 202, the same as for a blob that doesn't exist.
        assert response.status_code == 202 and response["Location"].startswith("/v2/eve/app/blobs/uploads/")
        assert session_shape(response) == session_shape(baseline)
        assert "Docker-Content-Digest" not in response
        assert_refused(api.head(f"/v2/eve/app/blobs/{digest}", **headers))
        assert not RepositoryBlob.objects.filter(repository__name="eve/app", blob__digest=digest).exists()


def test_no_mount_through_a_readable_repository_that_lacks_the_blob(secret, api):
    headers = as_user("eve")
    for digest in secret.blobs:
        assert mount(api, "eve/app", digest, "acme/pub", headers).status_code == 202
        assert_refused(api.get(f"/v2/eve/app/blobs/{digest}", **headers))


def test_mount_works_for_a_reader_of_the_source(secret, api):
    headers = as_user("tom")
    digest = secret.blobs[0]
    response = mount(api, "tom/app", digest, "acme/priv", headers)
    assert response.status_code == 201 and response["Docker-Content-Digest"] == digest
    assert api.get(f"/v2/tom/app/blobs/{digest}", **headers).status_code == 200


def test_pushing_a_manifest_that_names_foreign_blobs_links_nothing(secret, api, registry):
    """Knowing the digests is not enough: a manifest naming acme/priv's blobs is refused in eve/app."""
    layers = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": 1} for d in secret.blobs
    ]
    body = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": secret.blobs[0], "size": 1},
        "layers": layers,
    }
    data = json.dumps(body).encode()
    response = registry.put_manifest("eve/app", "stolen", data, body["mediaType"], **as_user("eve"))
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert not RepositoryBlob.objects.filter(repository__name="eve/app", blob__digest__in=secret.blobs).exists()
