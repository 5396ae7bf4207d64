"""v1 image ids are global, so v1 is where cross-repository leaks hide: an image only reachable
through private acme/priv is never served to a caller who may not read it, and naming its id in a
push (repository index, tag, parent) does not make it theirs."""

import json

import pytest

from images.models import RepositoryBlob, V1Image
from tests.auth.test_v1_auth import push_v1
from tests.security.conftest import as_user
from tests.v1.conftest import make_chain, make_image

JSON = "application/json"


@pytest.fixture
def private_chain(world, api):
    """A v1 image chain pushed by olivia into private acme/priv; its layer digests."""
    chain = make_chain("private")
    push_v1(api, "acme/priv", chain)
    layers = [V1Image.objects.select_related("layer").get(image_id=i.id).layer.digest for i in chain]
    return chain, layers


def image_urls(image_id):
    return [f"/v1/images/{image_id}/{part}" for part in ("json", "layer", "ancestry")]


@pytest.mark.parametrize("who", [None, "eve"])
def test_private_v1_images_are_not_found_for_outsiders(private_chain, api, who):
    chain, _ = private_chain
    for image in chain:
        for url in image_urls(image.id):
            response = api.get(url, **as_user(who))
            assert response.status_code == 404, url
            assert image.layer[:64] not in response.content and image.json not in response.content


def test_private_v1_images_are_served_to_readers(private_chain, api):
    chain, _ = private_chain
    layer = api.get(f"/v1/images/{chain[-1].id}/layer", **as_user("tom"))
    assert layer.status_code == 200 and b"".join(layer.streaming_content) == chain[-1].layer
    ancestry = api.get(f"/v1/images/{chain[-1].id}/ancestry", **as_user("tom"))
    assert ancestry.json() == [i.id for i in reversed(chain)]


def v1_token(api, repository, who="eve"):
    """An X-Docker-Token with write access to `repository`, from a repository PUT naming no image."""
    response = api.put(
        f"/v1/repositories/{repository}/", "[]", content_type=JSON, HTTP_X_DOCKER_TOKEN="true", **as_user(who)
    )
    assert response.status_code == 200, response.content
    return {"HTTP_AUTHORIZATION": "Token " + response["X-Docker-Token"]}


def test_declaring_private_images_in_an_index_does_not_make_them_readable(private_chain, api):
    chain, _ = private_chain
    body = json.dumps([{"id": i.id} for i in chain])
    assert api.put("/v1/repositories/eve/app/images", body, content_type=JSON, **as_user("eve")).status_code == 204
    index = api.get("/v1/repositories/eve/app/images", **as_user("eve")).json()
    assert not {entry["id"] for entry in index} & {i.id for i in chain}
    for url in image_urls(chain[-1].id):
        assert api.get(url, **as_user("eve")).status_code == 404


def test_tagging_a_private_image_is_refused(private_chain, api):
    chain, layers = private_chain
    headers = v1_token(api, "eve/app")
    response = api.put("/v1/repositories/eve/app/tags/stolen", json.dumps(chain[-1].id), content_type=JSON, **headers)
    assert response.status_code == 404 and response.json() == {"error": "Image not found"}
    assert api.get("/v1/repositories/eve/app/tags", **as_user("eve")).json().get("stolen") is None
    assert_not_linked(api, layers)


def assert_not_linked(api, layers):
    assert not RepositoryBlob.objects.filter(repository__name="eve/app", blob__digest__in=layers).exists()
    for digest in layers:
        assert api.get(f"/v2/eve/app/blobs/{digest}", **as_user("eve")).status_code == 404


def test_a_private_image_as_parent_is_an_unknown_parent(private_chain, api):
    chain, layers = private_chain
    headers = v1_token(api, "eve/app")
    child = make_image("eve-child", chain[-1], {"etc/stolen": b"x"}, "touch /etc/stolen", "2015-02-01T00:00:00Z")
    response = api.put(f"/v1/images/{child.id}/json", child.json, content_type=JSON, **headers)
    assert response.status_code == 400 and "parent" in response.json()["error"].lower()
    assert not V1Image.objects.filter(image_id=child.id).exists()
    assert_not_linked(api, layers)


def test_a_public_base_image_can_still_be_built_on(world, api):
    """The control: a v1 push onto a base another user pushed to a public repository works as before."""
    base = make_chain("public")[:1]
    push_v1(api, "acme/pub", base)
    child = make_image("eve-on-public", base[0], {"etc/mine": b"1"}, "touch /etc/mine", "2015-02-01T00:00:00Z")
    push_v1(api, "eve/app", [child], who="eve")
    tags = api.get("/v1/repositories/eve/app/tags", **as_user("eve")).json()
    assert tags["latest"] == child.id
    manifest = api.get("/v2/eve/app/manifests/latest", **as_user("eve"))
    assert manifest.status_code == 200 and len(manifest.json()["layers"]) == 2
