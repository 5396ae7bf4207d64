"""GET /v1/search and the search service: matching, ranking, paging."""

import pytest
from django.db import connection
from django.db.models import Q

from images.models import Repository
from search import services

pytestmark = pytest.mark.django_db


def make(*names, **descriptions):
    for name in names:
        Repository.objects.create(
            name=name, namespace=name.split("/")[0] if "/" in name else "", description=descriptions.get(name, "")
        )


def names(response):
    return [r["name"] for r in response.json()["results"]]


@pytest.fixture
def catalog():
    make(
        "library/ubuntu",
        "ubuntu",
        "someone/ubuntu",
        "library/ubuntu-debootstrap",
        "team/ubuntu-tools",
        "team/myubuntu",
        "team/tools/ubuntu-base",
        "library/debian",
        "team/app",
    )
    Repository.objects.filter(name="library/debian").update(description="Debian, which Ubuntu is built on")
    Repository.objects.filter(name="team/app").update(description="runs on alpine")


def test_ranking(client, catalog):
    response = client.get("/v1/search", {"q": "ubuntu"})
    assert response.status_code == 200
    assert names(response) == [
        "library/ubuntu",  # exact (library/term)
        "ubuntu",  # exact
        "someone/ubuntu",  # last component is the term
        "library/ubuntu-debootstrap",  # a component starts with it
        "team/tools/ubuntu-base",
        "team/ubuntu-tools",
        "team/myubuntu",  # elsewhere in the name
        "library/debian",  # description only
    ]


def test_case_insensitive_and_descriptions(client, catalog):
    assert names(client.get("/v1/search", {"q": "ALPINE"})) == ["team/app"]
    body = client.get("/v1/search", {"q": "Debian"}).json()
    assert [r["name"] for r in body["results"]] == ["library/debian"]
    assert body["results"][0] == {
        "name": "library/debian",
        "description": "Debian, which Ubuntu is built on",
        "star_count": 0,
        "is_official": False,
        "is_trusted": False,
        "is_automated": False,
    }
    assert client.get("/v1/search", {"q": "ubuntu"}).json()["results"][0]["description"] is None


def test_wildcards_are_literal(client, catalog):
    for term in ("%", "_", "u%u"):
        assert client.get("/v1/search", {"q": term}).json()["num_results"] == 0


def test_paging_fields_are_consistent(client, catalog):
    body = client.get("/v1/search", {"q": "ubuntu", "n": "3"}).json()
    assert body["query"] == "ubuntu"
    assert (body["num_results"], body["num_pages"], body["page_size"], body["page"]) == (8, 3, 3, 1)
    assert len(body["results"]) == 3
    seen = []
    for page in (1, 2, 3):
        body = client.get("/v1/search", {"q": "ubuntu", "n": "3", "page": str(page)}).json()
        assert body["page"] == page and body["num_pages"] == 3
        seen += [r["name"] for r in body["results"]]
    assert seen == names(client.get("/v1/search", {"q": "ubuntu"}))
    body = client.get("/v1/search", {"q": "ubuntu", "n": "3", "page": "9"}).json()
    assert body["results"] == [] and body["num_results"] == 8 and body["page"] == 9


def test_empty_query_lists_everything_by_name(client, catalog):
    body = client.get("/v1/search").json()
    assert body["query"] == "" and body["num_results"] == 9 and body["page_size"] == 25 and body["num_pages"] == 1
    assert names(client.get("/v1/search")) == sorted(Repository.objects.values_list("name", flat=True))
    body = client.get("/v1/search", {"q": "nothing-like-it"}).json()
    assert (body["num_results"], body["num_pages"], body["results"]) == (0, 0, [])


def test_page_size_is_clamped_and_validated(client, catalog):
    assert client.get("/v1/search", {"n": "1000"}).json()["page_size"] == 100
    assert client.get("/v1/search", {"n": "0"}).json()["page_size"] == 1
    assert client.get("/v1/search", {"page": "0"}).json()["page"] == 1
    for params in ({"n": "many"}, {"page": "two"}):
        response = client.get("/v1/search", params)
        assert response.status_code == 400 and set(response.json()) == {"error"}


def test_two_queries_per_page(catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        found = services.search_repositories("ubuntu", page=2, page_size=2)
    assert [r.name for r in found.results] == ["someone/ubuntu", "library/ubuntu-debootstrap"]
    assert found.num_pages == 4


def test_narrowed_set(catalog):
    visible = Repository.objects.exclude(name__startswith="library/")
    found = services.search_repositories("ubuntu", repositories=visible)
    assert [r.name for r in found.results][:2] == ["ubuntu", "someone/ubuntu"]


@pytest.mark.django_db(transaction=True)
def test_search_in_its_own_transaction_reads_the_trigram_indexes(catalog):
    # Outside a test transaction, as in a request: on PostgreSQL the search opens its own to steer the
    # planner onto the trigram indexes (a table scan cost 75 ms at 100,000 repositories).
    found = services.search_repositories("ubuntu", page_size=3)
    assert [r.name for r in found.results] == ["library/ubuntu", "ubuntu", "someone/ubuntu"]
    assert found.total == 8
    if connection.vendor == "postgresql":
        Repository.objects.bulk_create(Repository(name=f"bulk/app-{i}") for i in range(3000))
        matching = Repository.objects.filter(Q(name__contains="ubuntu") | Q(description__icontains="ubuntu"))
        sql, params = matching.order_by().query.sql_with_params()
        with services._trigram_indexes("default", "ubuntu"), connection.cursor() as cursor:
            cursor.execute("ANALYZE images_repository")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "images_repo_name_trgm" in plan and "images_repo_descr_trgm" in plan, plan
