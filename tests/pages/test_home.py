"""Home page: visible repositories, namespace groups, sorting, search, empty state, query counts."""

import pytest

from images.models import Repository
from tests.support import content

pytestmark = pytest.mark.django_db


def test_lists_public_repositories_with_stats(client, sample):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "team/app/api" in html and "team/multi" in html and "library/alpine" in html
    assert "secret/internal" not in html
    row = next(r for r in response.context["page"].object_list if r.name == "team/app/api")
    assert row.tag_count == 3  # 1.0, 1.1 and the cosign signature tag
    assert row.total_size > 0


def test_staff_see_private_repositories(admin_client, sample):
    html = admin_client.get("/").content.decode()
    assert "secret/internal" in html
    assert "private" in html


def test_groups_by_namespace_when_sorted_by_name(client, sample):
    html = client.get("/").content.decode()
    assert html.index(">library<") < html.index(">team<")
    assert html.index("library/alpine") < html.index("team/app/api")


@pytest.mark.parametrize("sort", ["name", "pushed", "size", "tags"])
def test_sorts(client, sample, sort):
    response = client.get("/", {"sort": sort})
    assert response.status_code == 200
    names = [r.name for r in response.context["page"].object_list]
    assert set(names) == {"team/app/api", "team/multi", "library/alpine"}
    if sort == "size":
        sizes = [r.total_size for r in response.context["page"].object_list]
        assert sizes == sorted(sizes, reverse=True)


def test_namespace_filter(client, sample):
    response = client.get("/", {"namespace": "team"})
    assert [r.name for r in response.context["page"].object_list] == ["team/app/api", "team/multi"]


def test_a_namespace_with_nul_lists_nothing(client, sample):
    """PostgreSQL refuses NUL in a comparison: the filter must not send one (it was a 500)."""
    response = client.get("/", {"namespace": "team\x00"})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []


def test_search_uses_the_search_service(client, sample):
    response = client.get("/", {"q": "multi"})
    assert [r.name for r in response.context["page"].object_list] == ["team/multi"]
    assert "1 match for" in response.content.decode()


def test_search_matches_descriptions_and_hides_private(client, sample):
    assert [r.name for r in client.get("/", {"q": "public api"}).context["page"].object_list] == ["team/app/api"]
    assert client.get("/", {"q": "secret"}).context["page"].object_list == []


def test_search_without_results_reads_well(client, sample):
    html = client.get("/", {"q": "nothing-like-this"}).content.decode()
    assert "Nothing matches" in html


def test_empty_catalog_explains_how_to_push(client, db, settings):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com"
    html = client.get("/").content.decode()
    assert "No repositories yet" in html
    assert "docker push registry.example.com/team/app:1" in html.replace("<wbr>", "")


def test_pagination(client, db):
    content.bulk_catalog(120, tags_per_repo=1)
    first = client.get("/")
    assert len(first.context["page"].object_list) == 50
    assert 'rel="next"' in first.content.decode() and "121 repositories" in first.content.decode()
    second = client.get("/", {"cursor": first.context["page"].next_cursor})
    third = client.get("/", {"cursor": second.context["page"].next_cursor})
    assert len(third.context["page"].object_list) == 121 - 100  # + the seed repository
    assert 'rel="next"' not in third.content.decode() and 'rel="prev"' in third.content.decode()
    back = client.get("/", {"cursor": third.context["page"].previous_cursor})
    assert back.context["page"].object_list == second.context["page"].object_list


def test_old_page_numbers_and_bad_cursors_show_the_first_page(client, db):
    content.bulk_catalog(60, tags_per_repo=1)
    first = client.get("/").context["page"].object_list
    old = client.get("/", {"page": 3})
    assert old.status_code == 200 and old.context["page"].object_list == first
    assert "this is the first page" in old.content.decode()
    assert client.get("/", {"page": "1"}).context["page_notice"] == ""
    for bad in ("nonsense", "W10", "WyJuIiwgWyJhIiwgMl1d", "%00", "x" * 5000):  # W10: [], then ["n", ["a", 2]]
        response = client.get("/", {"cursor": bad, "sort": "size"})
        assert response.status_code == 200, bad
        assert "That page link has expired" in response.content.decode()


def test_query_count_does_not_grow_with_the_catalog(client, db, count_queries, django_assert_max_num_queries):
    content.bulk_catalog(5, prefix="few")
    _, few = count_queries(lambda: client.get("/", {"sort": "size"}))
    content.bulk_catalog(300, tags_per_repo=3, prefix="many")
    assert Repository.objects.count() > 300
    _, many = count_queries(lambda: client.get("/", {"sort": "size"}))
    assert few == many
    for params in ({}, {"sort": "pushed"}, {"namespace": "ns1"}, {"q": "many"}):
        with django_assert_max_num_queries(4):
            assert client.get("/", params).status_code == 200
