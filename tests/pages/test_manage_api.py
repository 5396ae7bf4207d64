"""The JSON management API: listing, filtering, paging, permissions, writes through services, schema."""

import pytest
from rest_framework.test import APIClient

from images.models import Repository, RepositoryManifest, Tag
from tests.support import content

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def admin_api(admin_user):
    client = APIClient()
    client.force_login(admin_user)
    return client


def names(response):
    return [r["name"] for r in response.json()["results"]]


def test_repositories_list_with_stats(api, sample):
    response = api.get("/api/repositories/")
    assert response.status_code == 200
    body = response.json()
    assert names(response) == ["library/alpine", "team/app/api", "team/multi"]
    assert body["next"] is None and body["previous"] is None and body["count"] == 3
    assert "count_capped" not in body
    row = body["results"][1]
    assert row["tag_count"] == 3 and row["total_size"] > 0
    assert row["url"] == "http://testserver/api/repositories/team/app/api/"
    assert row["web_url"] == "http://testserver/r/team/app/api/"


def test_repository_detail_by_name_with_slashes(api, sample):
    body = api.get("/api/repositories/team/app/api/").json()
    assert body["name"] == "team/app/api" and body["description"].startswith("The public API.")
    assert body["tags_url"].endswith("/api/tags/?repository=team/app/api")


def test_repositories_filter_and_order(admin_api, sample):
    assert names(admin_api.get("/api/repositories/", {"namespace": "team"})) == ["team/app/api", "team/multi"]
    assert names(admin_api.get("/api/repositories/", {"is_public": "false"})) == ["secret/internal"]
    assert names(admin_api.get("/api/repositories/", {"name": "MULTI"})) == ["team/multi"]
    sizes = [
        r["total_size"] for r in admin_api.get("/api/repositories/", {"ordering": "-total_size"}).json()["results"]
    ]
    assert sizes == sorted(sizes, reverse=True)


def test_pagination(api, db):
    content.bulk_catalog(30, tags_per_repo=1)
    first = api.get("/api/repositories/", {"page_size": 10}).json()
    assert len(first["results"]) == 10 and "cursor=" in first["next"] and first["previous"] is None
    assert first["count"] == 31  # and the seed image's repository
    seen, url = [], "/api/repositories/?page_size=10"
    while url:
        body = api.get(url).json()
        seen += [r["name"] for r in body["results"]]
        url = body["next"]
    assert seen == sorted(Repository.objects.values_list("name", flat=True))
    back = api.get(body["previous"]).json()
    assert [r["name"] for r in back["results"]] == seen[20:30]
    old = api.get("/api/repositories/", {"page": 3, "page_size": 10}).json()
    assert old["results"] == first["results"] and "no longer supported" in old["notice"]
    assert api.get("/api/repositories/", {"cursor": "junk"}).status_code == 400
    assert api.get("/api/repositories/", {"ordering": "description"}).status_code == 400
    assert api.get("/api/repositories/", {"page_size": "x"}).status_code == 400


@pytest.mark.parametrize("ordering", ["name", "-name", "-last_push_at", "-total_size", "tag_count", "-created_at"])
def test_every_repository_order_pages_through_every_row(api, db, ordering):
    content.bulk_catalog(25, tags_per_repo=1)
    seen, url = [], f"/api/repositories/?page_size=7&ordering={ordering}"
    while url:
        body = api.get(url).json()
        seen += [r["name"] for r in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(Repository.objects.values_list("name", flat=True)) and len(seen) == len(set(seen))


def test_private_repositories_are_hidden(api, sample):
    assert "secret/internal" not in names(api.get("/api/repositories/"))
    assert api.get("/api/repositories/secret/internal/").status_code == 404
    assert all(t["repository"] != "secret/internal" for t in api.get("/api/tags/").json()["results"])


def test_tags_filter_by_repository_and_digest(api, sample):
    body = api.get("/api/tags/", {"repository": "team/app/api", "ordering": "name"}).json()
    assert [t["name"] for t in body["results"]] == ["1.0", "1.1", sample.signature_tag]
    one = api.get("/api/tags/", {"digest": sample.api_digest}).json()["results"]
    assert [(t["repository"], t["name"]) for t in one] == [("team/app/api", "1.0")]
    assert one[0]["image_size"] > 0 and one[0]["web_url"].endswith("/r/team/app/api/-/tags/1.0/")


def test_manifests_list_and_detail(api, sample):
    rows = api.get("/api/manifests/", {"repository": "team/multi", "tagged": "true"}).json()["results"]
    assert [(m["digest"], m["tags"], m["platforms"]) for m in rows] == [
        (sample.index_digest, ["latest"], ["linux/amd64", "linux/arm64/v8"])
    ]
    referrers = api.get("/api/manifests/", {"subject": sample.api_digest}).json()["results"]
    assert [m["digest"] for m in referrers] == [sample.sbom]
    row = api.get("/api/manifests/", {"repository": "team/app/api", "digest": sample.api_digest}).json()["results"][0]
    detail = api.get(row["url"]).json()
    assert len(detail["layers"]) == 3 and detail["config"]["entrypoint"] == ["/usr/local/bin/app"]
    assert detail["tags"] == ["1.0"]


def test_search(api, sample):
    body = api.get("/api/search/", {"q": "api"}).json()
    assert body["count"] == 1 and body["results"][0]["name"] == "team/app/api"
    assert api.get("/api/search/", {"q": "secret"}).json()["count"] == 0


def test_search_pages(api, db):
    content.bulk_catalog(30, tags_per_repo=0)
    first = api.get("/api/search/", {"q": "bulk", "page_size": 10}).json()
    body = api.get(first["next"]).json()
    assert body["count"] == 31 and len(body["results"]) == 10 and "cursor=" in body["next"]
    assert api.get(body["previous"]).json()["results"] == first["results"]
    assert not {r["name"] for r in body["results"]} & {r["name"] for r in first["results"]}


def test_storage(api, sample):
    body = api.get("/api/storage/").json()
    assert body["stored_bytes"] > 0 and body["repositories"] == 4
    assert "secret/internal" not in [r["name"] for r in body["largest"]]


def test_anonymous_and_non_staff_cannot_write(api, django_user_model, sample):
    assert api.patch("/api/repositories/team/multi/", {"description": "x"}, format="json").status_code in (401, 403)
    tag = Tag.objects.get(repository__name="team/multi", name="latest")
    assert api.delete(f"/api/tags/{tag.pk}/").status_code in (401, 403)
    user = django_user_model.objects.create_user("reader", password="pw")
    api.force_login(user)
    assert api.patch("/api/repositories/team/multi/", {"description": "x"}, format="json").status_code == 403
    assert api.delete("/api/repositories/team/multi/").status_code == 403
    assert Repository.objects.get(name="team/multi").description == ""


def test_basic_auth_for_automation(db, admin_user, sample):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWRtaW46cGFzc3dvcmQ=")  # admin:password
    response = client.patch("/api/repositories/team/multi/", {"is_public": False}, format="json")
    assert response.status_code == 200 and response.json()["is_public"] is False


def test_staff_patch_description(admin_api, sample):
    response = admin_api.patch("/api/repositories/team/multi/", {"description": "  Nightly builds.  "}, format="json")
    assert response.status_code == 200 and response.json()["description"] == "Nightly builds."
    assert Repository.objects.get(name="team/multi").description == "Nightly builds."
    too_long = admin_api.patch("/api/repositories/team/multi/", {"description": "x" * 10_001}, format="json")
    assert too_long.status_code == 400 and "description" in too_long.json()
    assert admin_api.patch("/api/repositories/team/multi/", {"name": "renamed"}, format="json").json()["name"] == (
        "team/multi"
    )


def test_staff_delete_tag_manifest_repository(admin_api, sample):
    tag = Tag.objects.get(repository__name="team/app/api", name="1.1")
    assert admin_api.delete(f"/api/tags/{tag.pk}/").status_code == 204
    assert not Tag.objects.filter(pk=tag.pk).exists()
    link = RepositoryManifest.objects.get(repository__name="team/app/api", manifest__digest=sample.api_digest)
    assert admin_api.delete(f"/api/manifests/{link.pk}/").status_code == 204
    assert not Tag.objects.filter(repository__name="team/app/api", name="1.0").exists()
    response = admin_api.delete("/api/repositories/team/multi/")
    assert response.status_code == 200 and response.json()["deleted"] == "team/multi"
    assert not Repository.objects.filter(name="team/multi").exists()


def test_errors_use_drf_format(api, db):
    response = api.get("/api/repositories/no/such/")
    assert response.status_code == 404 and "detail" in response.json()


def test_openapi_schema_documents_only_the_management_api(api, db):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Berth management API"
    assert all(path.startswith("/api/") for path in schema["paths"])
    for path in ("/api/repositories/", "/api/repositories/{name}/", "/api/tags/", "/api/manifests/", "/api/search/"):
        assert path in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/repositories/"]["get"]["parameters"]}
    assert {"namespace", "is_public", "ordering", "cursor", "page_size"} <= params


def test_browsable_api(admin_client, sample):
    response = admin_client.get("/api/repositories/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"team/app/api" in response.content


@pytest.mark.parametrize("path", ["/api/repositories/", "/api/tags/", "/api/manifests/", "/api/search/?q=bulk"])
def test_list_query_counts_are_constant(api, db, path, count_queries):
    content.bulk_catalog(5, prefix="few")
    _, few = count_queries(lambda: api.get(path))
    content.bulk_catalog(150, tags_per_repo=3, prefix="many")
    _, many = count_queries(lambda: api.get(path))
    assert few == many <= 4


@pytest.mark.parametrize("path", ["/api/", "/api/schema/", "/api/repositories/"])
@pytest.mark.parametrize("accept", ["application/xml", "image/png"])
def test_an_accept_nothing_can_serve_is_a_406(client, db, path, accept):
    """The API root and the OpenAPI schema answered such a request with a 500 (the schema's 406 is in
    its own format, YAML)."""
    response = client.get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert b"Could not satisfy the request Accept header." in response.content


def test_a_browser_asking_for_the_schema_gets_an_answer(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert response.status_code == 200
    assert b"openapi:" in response.content


def test_a_list_longer_than_the_count_cap_says_so(api, db, monkeypatch):
    from images.api.manage.base import KeysetPagination

    monkeypatch.setattr(KeysetPagination, "COUNT_CAP", 12)
    content.bulk_catalog(15, tags_per_repo=1)
    body = api.get("/api/repositories/", {"page_size": 5}).json()
    assert body["count"] == 12 and body["count_capped"] is True
    body = api.get("/api/repositories/", {"page_size": 2, "name": "bulk-0001"}).json()  # 00010-00014
    assert body["count"] == 5 and len(body["results"]) == 2 and "count_capped" not in body
