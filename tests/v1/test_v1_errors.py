"""Every status and error message of V1_PROTOCOL.md, through the whole Django stack."""

import gzip
import json

import pytest

from images.models import Repository, Tag, Upload, V1Image
from tests.v1.conftest import DOCKER_UA, make_chain, make_image

pytestmark = pytest.mark.django_db

TOKEN_TOKEN = 'Token Token signature=ABCDEFGH12345678,repository="library/x",access=write'


def put(client, url, body=b"", content_type="application/json", **headers):
    return client.put(url, body, content_type=content_type, HTTP_USER_AGENT=DOCKER_UA, **headers)


def push_image(client, image, checksum=True):
    url = f"/v1/images/{image.id}"
    assert put(client, f"{url}/json", image.json).status_code == 200
    assert put(client, f"{url}/layer", image.layer, "application/octet-stream").status_code == 200
    if checksum:
        response = put(client, f"{url}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=image.payload_checksum)
        assert response.status_code == 200, response.content


def assert_error(response, status, message):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message}  # the v1 shape, never the v2 envelope


@pytest.fixture
def chain():
    return make_chain("errors")


# --- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_ping", "/v1/_ping"])
def test_ping(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.json() == {}
    assert response["X-Docker-Registry-Standalone"] == "True"
    assert response["X-Docker-Registry-Version"]
    assert response["Cache-Control"] == "no-cache" and response["Pragma"] == "no-cache" and response["Expires"] == "-1"


def test_root_names_the_registry_and_version(client):
    for headers in ({"HTTP_ACCEPT": "application/json"}, {"HTTP_USER_AGENT": DOCKER_UA, "HTTP_ACCEPT": "*/*"}):
        response = client.get("/", **headers)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        body = response.json()
        assert "docker-registry server" in body and "Berth" in body and "(v0." in body


def test_unknown_v1_route_is_a_v1_error(client):
    response = client.get("/v1/nothing/here")
    assert response.status_code == 404 and "error" in response.json()


def test_method_not_allowed_is_a_v1_error(client):
    response = client.post("/v1/_ping")
    assert response.status_code == 405 and set(response.json()) == {"error"}


# --- users (standalone index) ---------------------------------------------------------------


def test_users(client):
    response = client.get("/v1/users/")
    assert response.status_code == 200 and response.json() == "OK"
    assert client.get("/v1/users").json() == "OK"
    body = {"username": "u", "password": "p", "email": "u@example.com", "auth": ""}
    response = client.post("/v1/users/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201 and response.json() == "User Created"
    assert_error(client.post("/v1/users/", b"{nope", content_type="application/json"), 400, "Error Decoding JSON")
    assert put(client, "/v1/users/u/", b"{}").status_code == 204


# --- repository index -----------------------------------------------------------------------


def test_put_repository_answers_with_token_and_endpoints(client, chain):
    body = json.dumps([{"id": chain[0].id}, {"id": chain[1].id, "Tag": "latest"}])
    response = put(client, "/v1/repositories/team/app/", body, HTTP_X_DOCKER_TOKEN="true", HTTP_HOST="reg:5000")
    assert response.status_code == 200 and response.json() == ""
    assert response["X-Docker-Token"].startswith("Token signature=")
    assert response["X-Docker-Token"].endswith(',repository="team/app",access=write')
    assert response["WWW-Authenticate"] == response["X-Docker-Token"]
    assert response["X-Docker-Endpoints"] == "reg:5000"
    # without the trailing slash too; and the index merges, keeping checksums.
    body = json.dumps([{"id": chain[1].id, "checksum": "sha256:abc"}, {"id": chain[2].id}])
    assert put(client, "/v1/repositories/team/app", body).status_code == 200
    assert put(client, "/v1/repositories/team/app/images", json.dumps([{"id": chain[1].id}])).status_code == 204
    response = client.get("/v1/repositories/team/app/images", HTTP_X_DOCKER_TOKEN="true")
    assert response.status_code == 200
    assert response.json() == [{"id": chain[0].id}, {"id": chain[1].id, "checksum": "sha256:abc"}, {"id": chain[2].id}]
    assert response["X-Docker-Token"].endswith("access=read")
    response = client.delete("/v1/repositories/team/app/images")
    assert response.status_code == 204 and response["X-Docker-Token"].endswith("access=delete")


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "Error Decoding JSON"), (b'{"id": "x"}', "Invalid data"), (b'"x"', "Invalid data")],
)
def test_put_repository_bad_body(client, body, message):
    assert_error(put(client, "/v1/repositories/team/app/", body), 400, message)
    assert_error(put(client, "/v1/repositories/team/app/images", body), 400, message)
    assert not Repository.objects.exists()


def test_put_repository_bad_entries_and_names(client):
    assert_error(put(client, "/v1/repositories/team/app/", b'[{"di": "x"}]'), 400, "Invalid data")
    assert_error(put(client, "/v1/repositories/team/app/", b"[1]"), 400, "Invalid data")
    assert put(client, "/v1/repositories/Bad_Name--/", b"[]").status_code == 400
    assert not Repository.objects.exists()


def test_unknown_repository_images(client):
    assert_error(client.get("/v1/repositories/team/none/images"), 404, "images not found")


def test_put_auth(client):
    response = put(client, "/v1/repositories/team/app/auth")
    assert response.status_code == 200 and response.json() == "OK"


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["xyz", "A" * 64, "a" * 63, "g" * 64, "a" * 65])
def test_invalid_image_id(client, bad_id):
    for kind in ("json", "layer", "ancestry"):
        assert_error(client.get(f"/v1/images/{bad_id}/{kind}"), 404, "Invalid image ID")
    assert_error(put(client, f"/v1/images/{bad_id}/json", b'{"id": "x"}'), 404, "Invalid image ID")
    assert_error(put(client, f"/v1/images/{bad_id}/layer", b"x"), 404, "Invalid image ID")
    response = put(client, f"/v1/images/{bad_id}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD="x")
    assert_error(response, 404, "Invalid image ID")


def test_unknown_image(client):
    iid = "a" * 64
    for kind in ("json", "layer", "ancestry"):
        assert_error(client.get(f"/v1/images/{iid}/{kind}"), 404, "Image not found")
    assert_error(put(client, f"/v1/images/{iid}/layer", b"x"), 404, "Image not found")
    response = put(client, f"/v1/images/{iid}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD="sha256:0")
    assert_error(response, 404, "Image not found")
    # a 16-hex id is a valid id, just unknown
    assert_error(client.get(f"/v1/images/{'b' * 16}/json"), 404, "Image not found")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "Invalid JSON"),
        (b"\xff\xfe", "Invalid JSON"),
        (b"{}", "Invalid JSON"),
        (b"[1, 2]", "Invalid JSON"),
        (b'{"parent": "x"}', "Missing key `id' in JSON"),
        (b'{"id": "' + b"b" * 64 + b'"}', "JSON data contains invalid id"),
        (b'{"id": 7}', "JSON data contains invalid id"),
    ],
)
def test_put_json_bad_body(client, body, message):
    assert_error(put(client, f"/v1/images/{'a' * 64}/json", body), 400, message)
    assert not V1Image.objects.exists()


def test_put_json_parent_must_exist(client, chain):
    base, mid, _ = chain
    assert_error(put(client, f"/v1/images/{mid.id}/json", mid.json), 400, "Image depends on a non existing parent")
    body = json.dumps({"id": mid.id, "parent": "not-an-id"}).encode()
    assert_error(put(client, f"/v1/images/{mid.id}/json", body), 400, "Image depends on a non existing parent")
    push_image(client, base)
    assert put(client, f"/v1/images/{mid.id}/json", mid.json).status_code == 200
    assert V1Image.objects.get(image_id=mid.id).parent.image_id == base.id


def test_image_cannot_become_its_own_ancestor(client, chain):
    base, mid, _ = chain
    push_image(client, base, checksum=False)
    push_image(client, mid, checksum=False)
    loop = json.dumps({"id": base.id, "parent": mid.id}).encode()
    assert put(client, f"/v1/images/{base.id}/json", loop).status_code == 400
    self_parent = json.dumps({"id": base.id, "parent": base.id}).encode()
    assert put(client, f"/v1/images/{base.id}/json", self_parent).status_code == 400


def test_complete_image_is_409_for_json_and_layer(client, chain):
    base = chain[0]
    push_image(client, base)
    assert_error(put(client, f"/v1/images/{base.id}/json", base.json), 409, "Image already exists")
    response = put(client, f"/v1/images/{base.id}/layer", base.layer, "application/octet-stream")
    assert_error(response, 409, "Image already exists")
    response = put(client, f"/v1/images/{base.id}/checksum", HTTP_X_DOCKER_CHECKSUM_PAYLOAD=base.payload_checksum)
    assert_error(response, 409, "Cannot set this image checksum")


def test_parent_check_comes_before_409(client, chain):
    base, mid, _ = chain
    push_image(client, base)
    push_image(client, mid)
    orphan = json.dumps({"id": mid.id, "parent": "c" * 64}).encode()
    assert_error(put(client, f"/v1/images/{mid.id}/json", orphan), 400, "Image depends on a non existing parent")


def test_old_docker_clients_get_412_on_layer(client, chain):
    base = chain[0]
    put(client, f"/v1/images/{base.id}/json", base.json)
    old_docker = {"content_type": "application/octet-stream", "HTTP_USER_AGENT": "docker/0.9.1"}
    response = client.put(f"/v1/images/{base.id}/layer", base.layer, **old_docker)
    assert_error(response, 412, "This endpoint does not support Docker daemons older than 0.10")


def test_checksum_errors(client, chain):
    base = chain[0]
    url = f"/v1/images/{base.id}/checksum"
    response = put(client, url)
    assert response.status_code == 412 and "X-Docker-Checksum-Payload not set" in response.json()["error"]
    assert_error(put(client, url, HTTP_X_DOCKER_CHECKSUM_PAYLOAD=""), 400, "Missing Image's checksum")
    assert_error(put(client, url, HTTP_X_DOCKER_CHECKSUM_PAYLOAD="sha256:00"), 404, "Image not found")
    put(client, f"/v1/images/{base.id}/json", base.json)
    # before the layer there is nothing to compare with
    assert_error(put(client, url, HTTP_X_DOCKER_CHECKSUM_PAYLOAD=base.payload_checksum), 400, "Checksum mismatch")
    put(client, f"/v1/images/{base.id}/layer", base.layer, "application/octet-stream")
    assert_error(put(client, url, HTTP_X_DOCKER_CHECKSUM_PAYLOAD="sha256:" + "0" * 64), 400, "Checksum mismatch")
    # the tarsum is informational: any value is accepted with the right payload checksum
    headers = {"HTTP_X_DOCKER_CHECKSUM_PAYLOAD": base.payload_checksum, "HTTP_X_DOCKER_CHECKSUM": "tarsum+sha256:1"}
    response = put(client, url, **headers)
    assert response.status_code == 200 and response.json() is True
    image = V1Image.objects.get(image_id=base.id)
    assert image.completed and image.tarsum == "tarsum+sha256:1" and image.diff_id == base.diff_id


def test_get_json_headers_and_cache(client, chain):
    base = chain[0]
    push_image(client, base)
    response = client.get(f"/v1/images/{base.id}/json")
    assert response.status_code == 200 and response.content == base.json
    assert response["X-Docker-Size"] == str(len(base.layer))
    assert response["X-Docker-Checksum-Payload"] == base.payload_checksum
    assert response["Cache-Control"] == "public, max-age=31536000"
    assert response["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert "Pragma" not in response
    for kind in ("json", "ancestry", "layer"):
        response = client.get(f"/v1/images/{base.id}/{kind}", HTTP_IF_MODIFIED_SINCE="Thu, 01 Jan 1970 00:00:00 GMT")
        assert response.status_code == 304
    assert client.get(f"/v1/images/{base.id}/ancestry").json() == [base.id]


def test_authorization_is_tolerated(client, chain):
    base = chain[0]
    response = put(client, f"/v1/images/{base.id}/json", base.json, HTTP_AUTHORIZATION=TOKEN_TOKEN)
    assert response.status_code == 200
    assert client.get("/v1/_ping", HTTP_AUTHORIZATION="Basic Og==").status_code == 200


def test_layers_need_not_be_gzip_but_gzip_must_be_valid(client):
    plain = make_image("plain", None, {"a": b"a"}, "true", "2015-01-01T00:00:00Z")
    put(client, f"/v1/images/{plain.id}/json", plain.json)
    assert put(client, f"/v1/images/{plain.id}/layer", plain.tar, "application/octet-stream").status_code == 200
    assert V1Image.objects.get(image_id=plain.id).diff_id == plain.diff_id

    broken = make_image("broken", None, {"a": b"a"}, "true", "2015-01-01T00:00:00Z")
    put(client, f"/v1/images/{broken.id}/json", broken.json)
    truncated = broken.layer[:-9]
    response = put(client, f"/v1/images/{broken.id}/layer", truncated, "application/octet-stream")
    assert_error(response, 400, "Invalid layer: not a valid gzip stream")
    assert V1Image.objects.get(image_id=broken.id).layer is None
    assert not Upload.objects.exists()
    # the client retries with the whole layer
    assert put(client, f"/v1/images/{broken.id}/layer", broken.layer, "application/octet-stream").status_code == 200


def test_multi_member_gzip_layer(client):
    image = make_image("members", None, {"f": b"x" * 5000}, "true", "2015-01-01T00:00:00Z")
    half = len(image.tar) // 2
    layer = gzip.compress(image.tar[:half]) + gzip.compress(image.tar[half:])
    put(client, f"/v1/images/{image.id}/json", image.json)
    assert put(client, f"/v1/images/{image.id}/layer", layer, "application/octet-stream").status_code == 200
    assert V1Image.objects.get(image_id=image.id).diff_id == image.diff_id


# --- tags -------------------------------------------------------------------------------------


def test_tag_errors(client, chain):
    base, mid, top = chain
    assert_error(client.get("/v1/repositories/team/none/tags"), 404, "Repository not found")
    assert_error(client.get("/v1/repositories/team/none/tags/latest"), 404, "Tag not found")
    response = put(client, "/v1/repositories/team/app/tags/-bad", json.dumps(base.id))
    assert_error(response, 400, r"Invalid tag name (must match ^[\w][\w.-]{0,127}$)")
    for body in (b"not json", b'{"id": "x"}', b'""', b"42"):
        assert_error(put(client, "/v1/repositories/team/app/tags/latest", body), 400, "Invalid data")
    assert_error(put(client, "/v1/repositories/team/app/tags/latest", json.dumps("d" * 64)), 404, "Image not found")
    assert_error(put(client, "/v1/repositories/team/app/tags/latest", json.dumps("nope")), 404, "Image not found")
    assert_error(client.delete("/v1/repositories/team/app/tags/latest"), 404, "Tag not found: latest")
    assert not Repository.objects.exists()

    push_image(client, base)
    push_image(client, mid, checksum=False)
    # a chain with an image still in progress can't be tagged (nor pulled over v2)
    response = put(client, "/v1/repositories/team/app/tags/latest", json.dumps(mid.id))
    assert_error(response, 400, "Image is being uploaded, retry later")
    assert not Tag.objects.exists()

    assert put(client, "/v1/repositories/team/app/tags/base", json.dumps(base.id)).json() is True
    assert client.get("/v1/repositories/team/app/tags").json() == {"base": base.id}
    assert client.get("/v1/repositories/team/app/tags/base").json() == base.id
    response = client.delete("/v1/repositories/team/app/tags/base")
    assert response.status_code == 200 and response.json() is True
    assert client.get("/v1/repositories/team/app/tags").json() == {}


def test_tag_metadata_from_user_agent(client, chain):
    base = chain[0]
    push_image(client, base)
    put(client, "/v1/repositories/team/app/tags/latest", json.dumps(base.id))
    meta = client.get("/v1/repositories/team/app/tags/latest/json").json()
    assert meta["docker_version"] == "1.4.1" and meta["docker_go_version"] == "go1.3.3"
    assert meta["arch"] == "amd64" and meta["os"] == "linux" and meta["kernel"] == "3.16.0-4-amd64"
    assert isinstance(meta["last_update"], int)
    assert client.get("/v1/repositories/team/app/json").json() == meta  # the `latest` tag's
    defaults = client.get("/v1/repositories/team/app/tags/other/json").json()
    assert defaults == {
        "last_update": None,
        "docker_version": None,
        "docker_go_version": None,
        "arch": "amd64",
        "os": "linux",
        "kernel": None,
    }


def test_repository_delete(client, chain):
    base = chain[0]
    push_image(client, base)
    put(client, "/v1/repositories/team/app/tags/latest", json.dumps(base.id))
    put(client, "/v1/repositories/team/app2/tags/latest", json.dumps(base.id))
    response = client.delete("/v1/repositories/team/app/")
    assert response.status_code == 200 and response.json() is True
    assert_error(client.get("/v1/repositories/team/app/tags"), 404, "Repository not found")
    assert_error(client.delete("/v1/repositories/team/app/"), 404, "Repository not found")
    # images are kept; the alias DELETE .../tags works too
    assert client.get(f"/v1/images/{base.id}/json").status_code == 200
    assert client.delete("/v1/repositories/team/app2/tags").json() is True
    assert not Repository.objects.exists()
    assert client.get("/v2/team/app2/tags/list").status_code == 404


def test_properties(client, chain):
    assert_error(client.get("/v1/repositories/team/app/properties"), 404, "Repository not found")
    put(client, "/v1/repositories/team/app/", b"[]")
    assert client.get("/v1/repositories/team/app/properties").json() == {"access": "public"}
    assert put(client, "/v1/repositories/team/app/properties", b'{"access": "private"}').json() is True
    assert client.get("/v1/repositories/team/app/properties").json() == {"access": "private"}
    assert not Repository.objects.get(name="team/app").is_public
    for body in (b"[]", b"nope", b'{"access": "secret"}', b"{}"):
        assert_error(put(client, "/v1/repositories/team/app/properties", body), 400, "Invalid data")
