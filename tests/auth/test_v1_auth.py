"""v1 with registry auth on: /v1/users login, signed X-Docker-Tokens, `Authorization: Token`, private repositories."""

import json

import pytest

from images.models import Repository
from tests.auth.conftest import PASSWORDS, basic
from tests.v1.conftest import make_chain

JSON = "application/json"


def auth(who):
    return {"HTTP_AUTHORIZATION": basic(who, PASSWORDS[who])}


def push_v1(api, repo, images, who="olivia", token_prefix="Token "):
    response = api.put(
        f"/v1/repositories/{repo}/",
        json.dumps([{"id": i.id} for i in images]),
        content_type=JSON,
        HTTP_X_DOCKER_TOKEN="true",
        **auth(who),
    )
    assert response.status_code == 200, response.content
    token = response["X-Docker-Token"]
    assert token.startswith("Token signature=") and f'repository="{repo}"' in token and token.endswith("access=write")
    assert response["WWW-Authenticate"] == token and response["X-Docker-Endpoints"]
    headers = {"HTTP_AUTHORIZATION": token_prefix + token}  # Docker 1.x really sends `Token Token signature=...`
    for image in images:
        url = f"/v1/images/{image.id}"
        assert api.put(f"{url}/json", image.json, content_type=JSON, **headers).status_code == 200
        response = api.put(f"{url}/layer", image.layer, content_type="application/octet-stream", **headers)
        assert response.status_code == 200, response.content
        response = api.put(
            f"{url}/checksum",
            HTTP_X_DOCKER_CHECKSUM=image.tarsum,
            HTTP_X_DOCKER_CHECKSUM_PAYLOAD=image.payload_checksum,
            **headers,
        )
        assert response.status_code == 200, response.content
    response = api.put(f"/v1/repositories/{repo}/tags/latest", json.dumps(images[-1].id), content_type=JSON, **headers)
    assert response.status_code == 200, response.content
    response = api.put(
        f"/v1/repositories/{repo}/images", "[]", content_type=JSON, HTTP_X_DOCKER_TOKEN="true", **auth(who)
    )
    assert response.status_code == 204
    return token


@pytest.fixture
def chain():
    return make_chain("auth")


def test_v1_users_login_check(world, api):
    assert api.get("/v1/users/", **auth("eve")).status_code == 200
    wrong = api.get("/v1/users/", HTTP_AUTHORIZATION=basic("eve", "nope"))
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"] == "Token"
    assert api.get("/v1/users/").status_code == 401
    assert api.get("/v1/users/", HTTP_AUTHORIZATION="Basic Og==").status_code == 401


def test_v1_registration_is_closed_by_default(world, api, settings, django_user_model):
    body = json.dumps({"username": "mallory", "password": "pw-123456", "email": "m@example.invalid", "auth": ""})
    response = api.post("/v1/users/", body, content_type=JSON)
    assert response.status_code == 401  # docker then checks the credentials with GET
    assert not django_user_model.objects.filter(username="mallory").exists()
    settings.REGISTRY = {**settings.REGISTRY, "ALLOW_REGISTRATION": True}
    assert api.post("/v1/users/", body, content_type=JSON).status_code == 201
    assert api.get("/v1/users/", HTTP_AUTHORIZATION=basic("mallory", "pw-123456")).status_code == 200
    again = api.post("/v1/users/", body, content_type=JSON)
    assert again.status_code == 400 and again.json() == {"error": "Username or email already exists"}


def test_v1_push_needs_push_permission(world, api, chain):
    body = json.dumps([{"id": chain[0].id}])
    anonymous = api.put("/v1/repositories/olivia/app/", body, content_type=JSON, HTTP_AUTHORIZATION="Basic Og==")
    assert anonymous.status_code == 401 and anonymous.json() == {"error": "Requires authorization"}
    assert anonymous["WWW-Authenticate"] == "Token"
    eve = api.put("/v1/repositories/olivia/app/", body, content_type=JSON, **auth("eve"))
    assert eve.status_code == 403
    assert not Repository.objects.filter(name="olivia/app").exists()
    # image uploads need a write token or a signed-in caller
    assert api.put(f"/v1/images/{chain[0].id}/json", chain[0].json, content_type=JSON).status_code == 401
    forged = {"HTTP_AUTHORIZATION": 'Token signature=ABCDEFGH12345678,repository="olivia/app",access=write'}
    assert api.put(f"/v1/images/{chain[0].id}/json", chain[0].json, content_type=JSON, **forged).status_code == 401


@pytest.mark.parametrize("token_prefix", ["Token ", ""])
def test_v1_private_repository(world, api, chain, token_prefix):
    push_v1(api, "olivia/app", chain, token_prefix=token_prefix)
    top = chain[-1].id
    # public by default: anonymous pulls work
    assert api.get("/v1/repositories/olivia/app/images", HTTP_X_DOCKER_TOKEN="true").status_code == 200
    assert api.get(f"/v1/images/{top}/json").status_code == 200
    # private (§4.7): only the owner; outsiders get 401/403 from the index and "not found" for images
    response = api.put(
        "/v1/repositories/olivia/app/properties", json.dumps({"access": "private"}), content_type=JSON, **auth("olivia")
    )
    assert response.status_code == 200
    assert api.get("/v1/repositories/olivia/app/properties", **auth("olivia")).json() == {"access": "private"}
    assert api.get("/v1/repositories/olivia/app/images", HTTP_X_DOCKER_TOKEN="true").status_code == 401
    assert api.get("/v1/repositories/olivia/app/images", HTTP_X_DOCKER_TOKEN="true", **auth("eve")).status_code == 403
    assert api.get("/v1/repositories/olivia/app/tags").status_code == 401
    for path in ("json", "layer", "ancestry"):
        response = api.get(f"/v1/images/{top}/{path}")
        assert response.status_code == 404 and response.json() == {"error": "Image not found"}
        assert api.get(f"/v1/images/{top}/{path}", **auth("eve")).status_code == 404
    response = api.get("/v1/repositories/olivia/app/images", HTTP_X_DOCKER_TOKEN="true", **auth("olivia"))
    assert response.status_code == 200
    token = response["X-Docker-Token"]
    assert token.endswith("access=read")
    headers = {"HTTP_AUTHORIZATION": token_prefix + token}
    assert api.get("/v1/repositories/olivia/app/tags", **headers).json() == {"latest": top}
    assert api.get(f"/v1/images/{top}/ancestry", **headers).json() == [i.id for i in reversed(chain)]
    layer = api.get(f"/v1/images/{top}/layer", **headers)
    assert layer.status_code == 200 and b"".join(layer.streaming_content) == chain[-1].layer
    # visibility is an admin-level setting
    response = api.put(
        "/v1/repositories/olivia/app/properties", json.dumps({"access": "public"}), content_type=JSON, **auth("eve")
    )
    assert response.status_code == 403


def test_v1_search_shows_only_readable_repositories(world, api):
    def names(**headers):
        return {r["name"] for r in api.get("/v1/search", {"q": "acme"}, **headers).json()["results"]}

    assert names() == {"acme/pub"}
    assert names(**auth("eve")) == {"acme/pub"}
    assert names(**auth("tom")) == {"acme/pub", "acme/priv"}


@pytest.mark.parametrize("who", [None, "eve"])
@pytest.mark.parametrize(
    "method,suffix", [("GET", "tags"), ("GET", "images"), ("GET", "properties"), ("DELETE", "tags"), ("PUT", "")]
)
def test_a_name_with_nul_is_answered_as_a_missing_repository(world, api, who, method, suffix):
    """PostgreSQL refuses NUL in a comparison: the permission lookup must not send one (it was a 500)."""
    headers = auth(who) if who else {}
    body = {"data": "[]", "content_type": JSON} if method == "PUT" else {}
    nul = api.generic(method, f"/v1/repositories/olivia/a%00b/{suffix}", **body, **headers)
    missing = api.generic(method, f"/v1/repositories/olivia/nothing/{suffix}", **body, **headers)
    assert nul.status_code == missing.status_code < 500, nul.content
    assert nul.json() == missing.json()


def test_a_push_to_a_name_with_nul_in_ones_own_namespace_is_an_invalid_name(world, api):
    response = api.put("/v1/repositories/eve/a%00b/", "[]", content_type=JSON, **auth("eve"))
    assert response.status_code == 400 and response.json() == {"error": "Invalid repository name"}
