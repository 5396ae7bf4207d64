"""Hostile queries to the management API (/api/): DRF's {"detail": ...} errors or empty results, never
a 500. schemathesis (test_manage_api_schema.py) explores the same API at random; these pin what it found."""

import pytest

from images.models import Repository

pytestmark = pytest.mark.django_db

QUERIES = {
    # (path, expected status); forms refuse NUL in filters (400) before any query is made
    "tz-offset-beyond-postgres": ("/api/tags/?updated_after=3030-05-13T11:36:26-17:34", 200),
    "tz-offset-24h": ("/api/repositories/?pushed_after=2020-01-01T00:00:00%2B23:59", 200),
    "date-past-the-calendar": ("/api/repositories/?pushed_before=9999-12-31T23:00:00-05:00", 400),
    "date-before-the-calendar": ("/api/tags/?updated_after=0001-01-01T00:00:00%2B05:00", 400),
    "date-garbage": ("/api/tags/?updated_after=yesterday", 400),
    "nul-in-name-filter": ("/api/repositories/?name=team%00", 400),
    "nul-in-namespace": ("/api/repositories/?namespace=%00", 400),
    "nul-in-tag-filters": ("/api/tags/?repository=%00&name=%00&digest=%00&name_contains=%00", 400),
    "nul-in-manifest-filters": ("/api/manifests/?repository=%00&digest=%00&media_type=%00&subject=%00", 400),
    "nul-in-search": ("/api/search/?q=team%00app", 200),
    "bad-utf8-in-search": ("/api/search/?q=%ff%fe", 200),
    "huge-search": ("/api/search/?q=" + "a" * 20_000, 200),
    # lists page by cursor: a page number of earlier versions gives the first page (and a notice)
    "page-zero": ("/api/repositories/?page=0", 200),
    "page-huge": ("/api/repositories/?page=99999999999999999999999", 200),
    "page-size-huge": ("/api/repositories/?page_size=99999999999999999999999", 200),
    "page-size-word": ("/api/tags/?page_size=x", 400),
    "search-page-word": ("/api/search/?page=x", 200),
    "ordering-unknown": ("/api/repositories/?ordering=password", 400),
    "cursor-garbage": ("/api/manifests/?cursor=%00%ff", 400),
    "cursor-wrong-types": ("/api/repositories/?ordering=-total_size&cursor=WyJuIiwgWyJhIiwgMl1d", 400),
    "cursor-of-another-order": ("/api/tags/?ordering=updated_at&cursor=WyJuIiwgWzEsIDJdXQ", 400),
    "boolean-garbage": ("/api/repositories/?is_public=maybe", 200),  # ignored, as django-filter does
    "repository-nul": ("/api/repositories/team%00app/", 404),
    "repository-traversal": ("/api/repositories/team/../../etc/passwd/", 404),
    "tag-id-word": ("/api/tags/null,null/", 404),
    "tag-id-huge": ("/api/tags/99999999999999999999999/", 404),
    "manifest-id-negative": ("/api/manifests/-1/", 404),
}


@pytest.mark.parametrize(("path", "status"), QUERIES.values(), ids=QUERIES.keys())
def test_hostile_queries(admin_client, seeded_v2, path, status):
    response = admin_client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith(("application/json", "text/html"))


WRITES = {
    "nul-in-description": b'{"description": "\\u0000"}',
    "boolean-word": b'{"is_public": "sometimes"}',
    "deeply-nested": b'{"description": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "bad-utf8": b"\xff\xfe",
    "huge-description": b'{"description": "' + b"x" * 100_000 + b'"}',
}


@pytest.mark.parametrize("body", WRITES.values(), ids=WRITES.keys())
def test_hostile_writes_are_refused(admin_client, seeded_v2, body):
    response = admin_client.generic("PATCH", "/api/repositories/team/app/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()  # DRF says what is wrong, as JSON
    assert Repository.objects.get(name="team/app").description == ""


def test_storage_overview_is_documented_as_one_object(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    response = schema["paths"]["/api/storage/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert response == {"$ref": "#/components/schemas/Storage"}
