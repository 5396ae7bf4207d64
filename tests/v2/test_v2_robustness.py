"""Never a 500 for a client's mistake: a corpus of hostile or broken requests.

Each answer must be a 4xx with the v2 error envelope (HEAD answers have no body to check).
"""

import json

import pytest
from django.test import Client

from images import manifest_formats
from images.digests import of_bytes as sha256
from images.models import Manifest

pytestmark = pytest.mark.django_db

CONFIG, LAYER = b"{}", b"layer"
DIGEST = sha256(LAYER)
OCTETS = "application/octet-stream"


@pytest.fixture
def lenient():
    """A client that returns 500 answers instead of raising the server's exception."""
    return Client(raise_request_exception=False)


@pytest.fixture
def repo(registry):
    for data in (CONFIG, LAYER):
        registry.push_blob("team/app", data)
    return "team/app"


def assert_client_error(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    if response.request["REQUEST_METHOD"] != "HEAD":
        assert json.loads(response.content)["errors"][0]["code"]


PATHS = [
    "/v2/../../etc/passwd/tags/list",
    "/v2/team/../../etc/manifests/latest",
    "/v2/%2e%2e/%2e%2e/etc/tags/list",
    "/v2/team/%2e%2e/blobs/" + DIGEST,
    "/v2/team/app/blobs/..%2F..%2F..%2Fetc%2Fpasswd",
    "/v2/team/app/manifests/..%2F..%2Fetc%2Fpasswd",
    "/v2/team/app/manifests/..",
    "/v2/team/app/blobs/uploads/..%2F..%2Fsecret",
    "/v2/team/app/referrers/..%2F..",
    "/v2/foo%00bar/tags/list",
    "/v2/team/app/manifests/latest%00",
    "/v2/team/app/manifests/sha256:%00",
    "/v2/team/app/blobs/sha256:" + "a" * 63 + "%00",
    "/v2/team/app/blobs/uploads/%00",
    "/v2/%ff%fe/tags/list",
    "/v2/team/app/manifests/%ff",
    "/v2/" + "a/" * 200 + "tags/list",
    "/v2/team/app/manifests/" + "a" * 5000,
    "/v2/team/app/blobs/sha256:" + "a" * 5000,
    "/v2/team/app/tags/list?n=-99999999999999999999",
    "/v2/_catalog?n=1e999",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["get", "head", "delete"])
def test_hostile_paths(lenient, repo, method, path):
    assert_client_error(getattr(lenient, method)(path))


@pytest.mark.parametrize(
    "path",
    [
        "/v2/_catalog?last=%00",
        "/v2/_catalog?last=%ff%fe",
        "/v2/_catalog?n=99999999999999999999999999",
        "/v2/team/app/tags/list?last=%00",
        "/v2/team/app/tags/list?n=99999999999999999999999999",
        f"/v2/team/app/referrers/{DIGEST}?artifactType=%00",
        f"/v2/team/app/referrers/{DIGEST}?artifactType=" + "x" * 5000,
    ],
)
def test_odd_but_harmless_queries_succeed(lenient, repo, path):
    assert lenient.get(path).status_code == 200


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("mount=%00&from=team/app", 400),
        (f"mount={DIGEST}&from=%00", 202),  # cannot mount from there: an ordinary session instead
        (f"mount={DIGEST}&from=../../etc", 202),
        ("digest=%00", 400),
        ("digest=sha256:" + "a" * 5000, 400),
        ("digest=" + "x" * 5000, 400),
    ],
)
def test_hostile_upload_starts(lenient, repo, query, status):
    response = lenient.post(f"/v2/team/app/blobs/uploads/?{query}", b"data", content_type=OCTETS)
    assert response.status_code == status
    if status == 202:
        assert response["Location"].startswith("/v2/team/app/blobs/uploads/")
    else:
        assert_client_error(response)


def _manifest(**changes):
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(CONFIG), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": DIGEST, "size": 5}],
    }
    body.update(changes)
    return json.dumps(body).encode()


MANIFEST_BODIES = {
    "bad-utf8": b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json\xff"}',
    "latin1": _manifest().replace(b'"layers"', b'"l\xe4yers"'),
    "utf16": _manifest().decode().encode("utf-16"),
    "nul": _manifest().replace(b"{", b"{\x00", 1),
    "deep-array": b"[" * 200_000 + b"]" * 200_000,
    "deep-object": b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    "deep-annotations": _manifest()[:-1] + b', "annotations": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
    "huge-layer-size": _manifest(
        layers=[{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": DIGEST, "size": 2**64}]
    ),
    "huge-config-size": _manifest(
        config={"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(CONFIG), "size": 10**30}
    ),
    "float-size": _manifest(
        config={"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(CONFIG), "size": 1e400}
    ),
    "huge-int-literal": _manifest().replace(b'"size": 5', b'"size": ' + b"9" * 5000),
    "long-media-type": _manifest(layers=[{"mediaType": "application/" + "x" * 1000, "digest": DIGEST, "size": 5}]),
    "long-artifact-type": _manifest(artifactType="application/" + "x" * 1000),
    "subject-not-object": _manifest(subject=["x"]),
    "annotations-list": _manifest(annotations=["x"]),
    "layers-object": _manifest(layers={"a": 1}),
    "nan": _manifest().replace(b'"size": 5', b'"size": NaN'),
    "schema-version-float": _manifest(schemaVersion=2.5),
    "schema-version-true": _manifest(schemaVersion=True),
    "media-type-object": _manifest(mediaType={"a": 1}),
}


@pytest.mark.parametrize("body", MANIFEST_BODIES.values(), ids=MANIFEST_BODIES.keys())
@pytest.mark.parametrize(
    "content_type", [manifest_formats.OCI_MANIFEST, "application/json", "text/plain; charset=\xff"]
)
def test_broken_manifest_bodies(lenient, repo, body, content_type):
    response = lenient.put("/v2/team/app/manifests/latest", body, content_type=content_type)
    assert_client_error(response)
    assert not Manifest.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        "-5-10",
        "0--1",
        "bytes -1-5",
        "99999999999999999999999-99999999999999999999999",
        "0-18446744073709551616",
        "\x00",
        "bytes 0-4/-1",
    ],
)
def test_hostile_content_range(lenient, repo, header):
    location = lenient.post("/v2/team/app/blobs/uploads/", b"", content_type=OCTETS)["Location"]
    response = lenient.generic("PATCH", location, b"12345", content_type=OCTETS, HTTP_CONTENT_RANGE=header)
    assert_client_error(response)
    assert lenient.get(location)["Range"] == "0-0"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=-99999999999999999999999",
        "bytes=99999999999999999999999-",
        "bytes=0-99999999999999999999999",
        "bytes=--1",
        "bytes=\x00-1",
        "bytes=١-٢",
    ],
)
def test_hostile_ranges(lenient, repo, header):
    response = lenient.get(f"/v2/team/app/blobs/{DIGEST}", HTTP_RANGE=header)
    assert response.status_code in (206, 416)
    response.close()


@pytest.mark.parametrize("length", ["-1", "abc", "1.5", "0x10", " "])
@pytest.mark.parametrize("method", ["PATCH", "PUT-manifest", "POST-monolithic"])
def test_unparseable_content_length(lenient, repo, method, length):
    if method == "PATCH":
        path = lenient.post("/v2/team/app/blobs/uploads/", b"", content_type=OCTETS)["Location"]
    elif method == "PUT-manifest":
        path = "/v2/team/app/manifests/latest"
    else:
        path = f"/v2/team/app/blobs/uploads/?digest={DIGEST}"
    http_method = method.split("-")[0]
    response = lenient.generic(
        http_method, path, _manifest(), content_type=manifest_formats.OCI_MANIFEST, CONTENT_LENGTH=length
    )
    assert_client_error(response)
    assert json.loads(response.content)["errors"][0]["code"] == "SIZE_INVALID"


def test_an_unexpected_failure_is_the_protocols_500_with_the_api_version_header(lenient, monkeypatch):
    from accounts import registry_auth

    def broken(request):
        raise RuntimeError("a defect")

    monkeypatch.setattr(registry_auth, "authenticate", broken)
    monkeypatch.setattr(registry_auth, "authenticate_v1", broken)
    response = lenient.get("/v2/team/app/tags/list")
    assert response.status_code == 500
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert json.loads(response.content)["errors"][0]["code"] == "UNKNOWN"
    v1 = lenient.get("/v1/repositories/team/app/tags")
    assert v1.status_code == 500 and json.loads(v1.content) == {"error": "Internal server error"}
