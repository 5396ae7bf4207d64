"""Every long list costs a fixed number of queries, on its first page and on a deep one, over a catalog
bigger than a page (the scale benchmark measures the time of the same pages at 100,000 repositories)."""

import pytest

from images.models import Repository, Tag
from tests.support import content

pytestmark = pytest.mark.django_db


@pytest.fixture
def big(db):
    repos = content.bulk_catalog(160, tags_per_repo=2)
    repo = Repository.objects.get(name="bulk-seed/base")
    manifest = Tag.objects.get(repository=repo).manifest
    Tag.objects.bulk_create(Tag(repository=repo, name=f"t-{i}", manifest=manifest) for i in range(400))
    return repos


def deep(client, url, params, pages=3):
    """The response `pages` Next links in (the cursor of a deep page)."""
    response = client.get(url, params)
    for _ in range(pages):
        page = response.context["page"]
        assert page.has_next
        response = client.get(url, {**params, "cursor": page.next_cursor})
    return response


PAGES = [
    ("/", {}, 5),
    ("/", {"sort": "pushed"}, 5),
    ("/", {"sort": "size"}, 5),
    ("/", {"sort": "tags"}, 5),
    ("/", {"namespace": "ns1"}, 5),
    ("/", {"q": "bulk"}, 5),
    ("/r/bulk-seed/base/", {}, 16),
    ("/r/bulk-seed/base/", {"sort": "name"}, 16),
]


@pytest.mark.parametrize(("url", "params", "most"), PAGES)
def test_list_pages_cost_the_same_deep_as_first(
    client, big, count_queries, django_assert_max_num_queries, url, params, most
):
    _, first = count_queries(lambda: client.get(url, params))
    if url == "/" and "namespace" in params:
        return  # one page only: 53 repositories
    page = deep(client, url, params, pages=2)
    assert page.status_code == 200
    cursor = page.context["page"].next_cursor if page.context["page"].has_next else page.context["page"].previous_cursor
    with django_assert_max_num_queries(most):
        response = client.get(url, {**params, "cursor": cursor})
    _, again = count_queries(lambda: client.get(url, {**params, "cursor": cursor}))
    assert again <= first + 1 and response.status_code == 200  # newest-first tags: the cursor's instant, then the rest


def test_fixed_cost_pages(client, admin_client, big, django_assert_max_num_queries):
    digest = Tag.objects.filter(repository__name="bulk-seed/base").first().manifest.digest
    for url, most in (
        ("/storage/", 6),
        ("/r/bulk-seed/base/-/tags/t-7/", 16),
        (f"/r/bulk-seed/base/-/manifests/{digest}/", 16),
        (f"/r/bulk-seed/base/?digest={digest}", 16),
        ("/v1/search?q=bulk&n=100", 4),
    ):
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200, url
    with django_assert_max_num_queries(12):
        assert admin_client.get("/api/manifests/", HTTP_ACCEPT="application/json").status_code == 200
    for url in ("/api/repositories/", "/api/tags/", "/api/tags/?repository=bulk-seed/base"):
        first = admin_client.get(url, HTTP_ACCEPT="application/json").json()
        assert first["next"], url
        with django_assert_max_num_queries(12):
            assert admin_client.get(first["next"], HTTP_ACCEPT="application/json").status_code == 200, url
    for model in ("repository", "tag", "manifest", "repositorymanifest", "blob"):
        with django_assert_max_num_queries(12):
            assert admin_client.get(f"/admin/images/{model}/").status_code == 200, model
    with django_assert_max_num_queries(14):
        assert admin_client.get(f"/admin/images/repository/{Repository.objects.get(name='bulk-seed/base').pk}/change/")
