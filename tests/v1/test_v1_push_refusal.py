"""A Docker 1.x push (V1_PROTOCOL.md §7, over real HTTP) into a proxy namespace or a cached repository is
refused in the v1 error format with a message naming the upstream, as v2 answers DENIED; v1 pushes elsewhere
keep working while proxies are configured."""

import json

import pytest

from images.models import Repository
from proxy import routing, services, store
from tests.v1.conftest import make_chain
from tests.v1.docker1 import Docker1

GHCR = "https://ghcr.example.test"
MIRROR = "https://mirror.example.test"


@pytest.fixture(autouse=True)
def proxies(transactional_db):
    routing.invalidate()
    services.save("ghcr", GHCR)
    mirror = services.save("", MIRROR)
    store.cached_repository(routing.Route(mirror, "library/alpine", "library/alpine"))
    yield
    routing.invalidate()


def _refused(response, upstream):
    assert response.status_code == 403, response.text
    assert set(response.json()) == {"error"} and upstream in response.json()["error"]
    assert "X-Docker-Token" not in response.headers  # no write token for the rest of the push


def _put_index(http, server, repo, images, suffix=""):
    entries = [{"id": i.id} for i in images]
    headers = {"Content-Type": "application/json", "X-Docker-Token": "true", "Authorization": "Basic Og=="}
    return http.put(f"{server}/v1/repositories/{repo}/{suffix}", data=json.dumps(entries), headers=headers)


def test_v1_push_into_a_proxy_namespace_is_refused_naming_the_upstream(live_registry_url, http):
    images = make_chain()
    _refused(_put_index(http, live_registry_url, "ghcr/org/img", images), GHCR)
    _refused(_put_index(http, live_registry_url, "ghcr/org/img", images, "images"), GHCR)
    assert not Repository.objects.filter(name="ghcr/org/img").exists()


def test_v1_push_into_a_cached_repository_of_the_mirror_is_refused(live_registry_url, http):
    images = make_chain()
    _refused(_put_index(http, live_registry_url, "alpine", images), MIRROR)  # alpine = library/alpine over v1
    _refused(_put_index(http, live_registry_url, "library/alpine", images, "images"), MIRROR)
    Docker1(http, live_registry_url).push(
        "team/base", images
    )  # the images exist; tagging them into the cache is refused
    response = http.put(
        f"{live_registry_url}/v1/repositories/alpine/tags/latest",
        data=json.dumps(images[-1].id),
        headers={"Content-Type": "application/json"},
    )
    _refused(response, MIRROR)
    assert not Repository.objects.get(name="library/alpine").tags.exists()


def test_v1_pushes_elsewhere_keep_working_with_a_mirror_and_proxies(live_registry_url, http):
    images = make_chain()
    docker = Docker1(http, live_registry_url)
    assert docker.push("team/app", images) == [i.id for i in images]
    ancestry, _ = docker.pull("team/app")
    assert ancestry == [i.id for i in reversed(images)]
