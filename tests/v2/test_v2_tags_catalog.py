"""GET /v2/<name>/tags/list and GET /v2/_catalog: sorted, paginated with n / last and a Link header."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from images.models import Repository

pytestmark = pytest.mark.django_db

TAGS = ["v1", "latest", "1.0", "v10", "V2", "a_b", "z"]


@pytest.fixture
def tagged(registry):
    pushed = registry.push_image("team/app", TAGS[0])
    for tag in TAGS[1:]:
        assert registry.put_manifest("team/app", tag, pushed.data, pushed.media_type).status_code == 201
    return pushed


def next_link(response):
    if "Link" not in response:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response["Link"])
    assert match, response["Link"]
    return match.group(1)


def test_tags_are_sorted(client, tagged):
    response = client.get("/v2/team/app/tags/list")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response.json() == {"name": "team/app", "tags": sorted(TAGS)}
    assert "Link" not in response


def test_tags_pagination_follows_link_headers(client, tagged):
    seen, path = [], "/v2/team/app/tags/list?n=3"
    while path:
        response = client.get(path)
        assert response.status_code == 200
        page = response.json()["tags"]
        assert len(page) <= 3
        seen += page
        path = next_link(response)
        if path:
            assert urlsplit(path).path == "/v2/team/app/tags/list"
            assert parse_qs(urlsplit(path).query) == {"n": ["3"], "last": [page[-1]]}
    assert seen == sorted(TAGS)


@pytest.mark.parametrize(
    ("query", "expected", "has_link"),
    [
        ("n=2", ["1.0", "V2"], True),
        ("n=0", [], False),
        (f"n={len(TAGS)}", sorted(TAGS), False),
        ("n=100", sorted(TAGS), False),
        ("last=v1", ["v10", "z"], False),
        ("n=1&last=v1", ["v10"], True),
        ("last=z", [], False),
        ("last=", sorted(TAGS), False),
        ("n=&last=a_b", ["latest", "v1", "v10", "z"], False),
    ],
)
def test_tags_n_and_last(client, tagged, query, expected, has_link):
    response = client.get(f"/v2/team/app/tags/list?{query}")
    assert response.status_code == 200
    assert response.json()["tags"] == expected
    assert ("Link" in response) is has_link


@pytest.mark.parametrize("n", ["-1", "abc", "1.5", "%00"])
def test_bad_n(client, assert_error, tagged, n):
    assert_error(client.get(f"/v2/team/app/tags/list?n={n}"), 400, "PAGINATION_NUMBER_INVALID")
    assert_error(client.get(f"/v2/_catalog?n={n}"), 400, "PAGINATION_NUMBER_INVALID")


def test_tags_of_an_unknown_repository(client, assert_error):
    assert_error(client.get("/v2/no/such/tags/list"), 404, "NAME_UNKNOWN")


def test_tags_of_a_repository_without_tags(registry, client):
    registry.push_blob("team/empty", b"x")
    assert client.get("/v2/team/empty/tags/list").json() == {"name": "team/empty", "tags": []}


def test_tags_list_costs_a_constant_number_of_queries(registry, client, django_assert_max_num_queries):
    registry.push_image("team/few", "v1")
    many = registry.push_image("team/many", "v0")
    for i in range(60):
        registry.put_manifest("team/many", f"v{i + 1}", many.data, many.media_type)
    for name, count in (("team/few", 1), ("team/many", 61)):
        with django_assert_max_num_queries(2):
            response = client.get(f"/v2/{name}/tags/list")
        assert len(response.json()["tags"]) == count


def test_catalog_is_sorted_and_paginated(client):
    names = ["zeta", "alpha/one", "alpha", "mid/x/y", "beta-2", "beta"]
    for name in names:
        Repository.objects.create(name=name)
    response = client.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": sorted(names)}
    assert "Link" not in response

    seen, path = [], "/v2/_catalog?n=4"
    while path:
        response = client.get(path)
        seen += response.json()["repositories"]
        path = next_link(response)
        if path:
            assert urlsplit(path).path == "/v2/_catalog"
    assert seen == sorted(names)

    response = client.get("/v2/_catalog?n=2&last=alpha/one")
    assert response.json()["repositories"] == ["beta", "beta-2"]
    assert parse_qs(urlsplit(next_link(response)).query) == {"n": ["2"], "last": ["beta-2"]}


def test_catalog_lists_pushed_repositories(registry, client):
    registry.push_image("team/app")
    registry.push_blob("solo", b"x")
    assert client.get("/v2/_catalog").json() == {"repositories": ["library/solo", "team/app"]}


def test_catalog_of_an_empty_registry(client):
    assert client.get("/v2/_catalog").json() == {"repositories": []}


def test_default_page_size_also_links(client, settings):
    settings.REGISTRY = {"DEFAULT_PAGE_SIZE": 2}
    for name in ("a", "b", "c"):
        Repository.objects.create(name=name)
    response = client.get("/v2/_catalog")
    assert response.json()["repositories"] == ["a", "b"]
    assert parse_qs(urlsplit(next_link(response)).query) == {"n": ["2"], "last": ["b"]}
