"""GET /v2/, routing, repository names, unknown routes and methods."""

import json

import pytest

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "a" * 64
UUID = "3f2b1c6e-0000-4000-8000-000000000000"


@pytest.mark.parametrize("path", ["/v2/", "/v2"])
def test_version_check(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {}


def test_version_check_head(client):
    response = client.head("/v2/")
    assert response.status_code == 200
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


ENDPOINTS = [
    ("get", "/v2/{name}/tags/list"),
    ("get", "/v2/{name}/manifests/latest"),
    ("head", "/v2/{name}/manifests/latest"),
    ("put", "/v2/{name}/manifests/latest"),
    ("delete", "/v2/{name}/manifests/latest"),
    ("get", f"/v2/{{name}}/blobs/{DIGEST}"),
    ("head", f"/v2/{{name}}/blobs/{DIGEST}"),
    ("delete", f"/v2/{{name}}/blobs/{DIGEST}"),
    ("post", "/v2/{name}/blobs/uploads/"),
    ("get", f"/v2/{{name}}/blobs/uploads/{UUID}"),
    ("patch", f"/v2/{{name}}/blobs/uploads/{UUID}"),
    ("put", f"/v2/{{name}}/blobs/uploads/{UUID}?digest={DIGEST}"),
    ("delete", f"/v2/{{name}}/blobs/uploads/{UUID}"),
    ("get", f"/v2/{{name}}/referrers/{DIGEST}"),
]

INVALID_NAMES = [
    "Upper",
    "team/App",
    "a..b",
    "-lead",
    "trail-",
    "a/-b",
    "a_/b",
    "a//b",
    "a%20b",
    "caf%C3%A9",
    "a%0A",
    "a" * 256,
]


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_repository_names_are_name_invalid(client, assert_error, method, template, name):
    response = getattr(client, method)(template.format(name=name))
    assert_error(response, 400, "NAME_INVALID")


@pytest.mark.parametrize(
    ("method", "template", "status", "code"),
    [
        ("get", "/v2/{name}/tags/list", 404, "NAME_UNKNOWN"),
        ("get", "/v2/{name}/manifests/latest", 404, "NAME_UNKNOWN"),
        ("head", "/v2/{name}/manifests/latest", 404, None),
        ("delete", "/v2/{name}/manifests/latest", 404, "NAME_UNKNOWN"),
        ("get", f"/v2/{{name}}/blobs/{DIGEST}", 404, "BLOB_UNKNOWN"),
        ("get", f"/v2/{{name}}/blobs/uploads/{UUID}", 404, "BLOB_UPLOAD_UNKNOWN"),
    ],
)
def test_unknown_repository(client, assert_error, method, template, status, code):
    response = getattr(client, method)(template.format(name="no/such/repo"))
    assert response.status_code == status
    if code:
        assert_error(response, status, code)


@pytest.mark.parametrize("name", ["a", "library/ubuntu", "team/app/api", "a/b/c/d/e", "my.registry_name/x--y"])
def test_names_with_several_components(registry, client, name):
    pushed = registry.push_image(name, "v1")
    response = client.get(f"/v2/{name}/manifests/v1")
    assert response.status_code == 200
    assert response.content == pushed.data
    canonical = name if "/" in name else f"library/{name}"
    assert client.get(f"/v2/{name}/tags/list").json() == {"name": canonical, "tags": ["v1"]}
    assert client.head(f"/v2/{name}/blobs/{pushed.blobs[0]}").status_code == 200


def test_one_component_names_are_the_library_namespace(registry, client):
    """`docker push HOST/foo` and `docker pull HOST/library/foo` name one repository, as on Docker Hub."""
    pushed = registry.push_image("foo", "1")
    assert client.get("/v2/library/foo/manifests/1").content == pushed.data
    assert client.get("/v2/_catalog").json() == {"repositories": ["library/foo"]}
    response = client.post("/v2/bar/blobs/uploads/")
    assert response["Location"].startswith("/v2/library/bar/blobs/uploads/")


@pytest.mark.parametrize(
    "path",
    [
        "/v2/foo/bar",
        "/v2/foo/manifests/",
        "/v2/foo/manifests/a/b",
        "/v2/foo/tags",
        "/v2/foo/tags/list/extra",
        "/v2/foo/blobs/",
        "/v2/foo/blobs/uploads/uuid/extra",
        "/v2/_catalog/extra",
        "/v2//tags/list",
    ],
)
def test_unknown_routes_under_v2_answer_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert [e["code"] for e in json.loads(response.content)["errors"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v2/"),
        ("delete", "/v2/"),
        ("post", "/v2/_catalog"),
        ("delete", "/v2/repo/tags/list"),
        ("post", "/v2/repo/manifests/latest"),
        ("patch", "/v2/repo/manifests/latest"),
        ("put", f"/v2/repo/blobs/{DIGEST}"),
        ("post", f"/v2/repo/blobs/{DIGEST}"),
        ("patch", f"/v2/repo/blobs/{DIGEST}"),
        ("get", "/v2/repo/blobs/uploads/"),
        ("put", "/v2/repo/blobs/uploads/"),
        ("post", f"/v2/repo/blobs/uploads/{UUID}"),
        ("delete", f"/v2/repo/referrers/{DIGEST}"),
    ],
)
def test_methods_not_allowed_are_unsupported(client, assert_error, method, path):
    assert_error(getattr(client, method)(path), 405, "UNSUPPORTED")


def test_json_answers_say_their_length(registry, client):
    """A body in memory is sent with Content-Length, never chunked (one write with the headers)."""
    registry.push_image("sized/app", "v1")
    for path in ("/v2/sized/app/tags/list", "/v2/_catalog", "/v2/sized/missing/tags/list", "/v2/"):
        response = client.get(path)
        assert response["Content-Length"] == str(len(response.content)), path
