"""Listings never name a private repository to outsiders: /v2/_catalog, /v1/search, the HTML catalog
(home, search, repository/tag/image pages, storage) and every /api/ list, searched by name and by
description; the same surfaces do list it for a member (so the check is about access, not absence)."""

import pytest
from django.test import Client

from images.services import repositories
from tests.security.conftest import as_user

BROWSER = {"HTTP_ACCEPT": "text/html"}
MARKER = "zanzibar-secret-project"  # in acme/priv's description only
DESCRIPTION = f"The {MARKER} images."  # (searches echo the query, never the description)
LISTINGS = [
    "/v2/_catalog",
    "/v2/_catalog?n=1000",
    "/v1/search?q=priv",
    f"/v1/search?q={MARKER}",
    "/v1/search?q=",
    "/",
    "/?q=priv",
    f"/?q={MARKER}",
    "/?sort=size",
    "/storage/",
    "/api/repositories/",
    "/api/repositories/?search=priv",
    "/api/tags/",
    "/api/manifests/",
    f"/api/search/?q={MARKER}",
    "/api/search/?q=acme",
    "/api/storage/",
]
PAGES = ["/r/acme/priv/", "/r/acme/priv/-/tags/secret/", "/api/repositories/acme/priv/"]


@pytest.fixture
def described(secret):
    repositories.set_description("acme/priv", DESCRIPTION)
    return secret


def client_for(world, who):
    client = Client()
    if who:
        client.force_login(world.users[who])
    return client


def fetch(client, url, who):
    """The page as `who` would load it: a session for the UI and /api/, Basic auth for the registry APIs."""
    headers = as_user(who) if url.startswith(("/v2/", "/v1/")) else BROWSER
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("who", [None, "eve"])
def test_private_repository_is_listed_nowhere_for_outsiders(world, described, who):
    client = client_for(world, who)
    for url in LISTINGS:
        text = fetch(client, url, who)
        assert "acme/priv" not in text and DESCRIPTION not in text, url
    for url in PAGES:
        assert client.get(url, **BROWSER).status_code == 404, url


def test_private_repository_is_listed_for_a_member(world, described):
    client = client_for(world, "tom")
    for url in ("/v2/_catalog", f"/v1/search?q={MARKER}", f"/?q={MARKER}", "/api/repositories/"):
        assert "acme/priv" in fetch(client, url, "tom"), url
    for url in PAGES:
        assert client.get(url, **BROWSER).status_code == 200, url


def test_catalog_through_a_bearer_token_lists_only_readable_repositories(world, described, api):
    """A catalog scope is granted to anyone, but the list is still filtered for the token's subject."""
    headers = as_user("eve", api, ["registry:catalog:*"])
    names = api.get("/v2/_catalog", **headers).json()["repositories"]
    assert "acme/pub" in names and "acme/priv" not in names
    anonymous = as_user(None, api, ["registry:catalog:*"])
    assert "acme/priv" not in api.get("/v2/_catalog", **anonymous).json()["repositories"]
