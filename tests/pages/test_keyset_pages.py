"""Keyset pages of the catalog: walking Next (and back with Previous) visits every row once, in the
order the page promises, also when a row is added while someone is paging."""

from datetime import timedelta

import pytest
from django.utils import timezone

from images.models import Repository, Tag
from images.services import catalog as catalog_service
from images.services.catalog import natural_key
from tests.support import content

pytestmark = pytest.mark.django_db


def walk(client, url, params, attribute="name"):
    """Rows of every page following Next, then the same pages again following Previous from the end."""
    pages, cursor = [], None
    while True:
        response = client.get(url, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.context["page"]
        pages.append([getattr(row, attribute) for row in page.object_list])
        if not page.has_next:
            break
        assert 'rel="next"' in response.content.decode()
        cursor = page.next_cursor
    back, cursor = [pages[-1]], page.previous_cursor
    while page.has_previous:
        page = client.get(url, {**params, "cursor": cursor}).context["page"]
        back.insert(0, [getattr(row, attribute) for row in page.object_list])
        cursor = page.previous_cursor
    return pages, back


@pytest.fixture
def catalog(db):
    repos = content.bulk_catalog(130, tags_per_repo=1)
    now = timezone.now()
    for i, repo in enumerate(repos):  # ties in every order: 5 push times, 4 tag counts, 3 sizes
        Repository.objects.filter(pk=repo.pk).update(
            last_push_at=now - timedelta(minutes=i % 5) if i % 7 else None, tag_count=i % 4, total_size=(i % 3) * 100
        )
    return Repository.objects.all()


EXPECTED = {
    "name": lambda r: (r.namespace, r.name),
    "pushed": lambda r: (-(r.last_push_at.timestamp() if r.last_push_at else 0), -r.pk),
    "size": lambda r: (-r.total_size, -r.pk),
    "tags": lambda r: (-r.tag_count, -r.pk),
}


@pytest.mark.parametrize("sort", list(EXPECTED))
def test_every_order_pages_through_every_repository_once(client, catalog, sort):
    pages, back = walk(client, "/", {"sort": sort})
    assert [name for page in pages for name in page] == [r.name for r in sorted(catalog, key=EXPECTED[sort])]
    assert back == pages


def test_namespace_and_search_pages(client, catalog):
    pages, back = walk(client, "/", {"namespace": "ns1"})
    assert [n for p in pages for n in p] == sorted(
        Repository.objects.filter(namespace="ns1").values_list("name", flat=True)
    )
    assert back == pages and len(pages) == 1
    pages, back = walk(client, "/", {"q": "bulk-00"})
    found = [n for p in pages for n in p]
    assert len(found) == len(set(found)) == 130 and back == pages


def test_a_repository_added_while_paging_neither_repeats_nor_hides_rows(client, catalog):
    first = client.get("/").context["page"]
    Repository.objects.create(name="aaa/new", namespace="aaa")  # sorts before the first page
    Repository.objects.create(name="zzz/new", namespace="zzz")  # after the last
    seen = [r.name for r in first.object_list]
    cursor = first.next_cursor
    while cursor:
        page = client.get("/", {"cursor": cursor}).context["page"]
        seen += [r.name for r in page.object_list]
        cursor = page.next_cursor if page.has_next else None
    assert len(seen) == len(set(seen)) and "zzz/new" in seen and "aaa/new" not in seen
    assert set(seen) | {"aaa/new"} == set(Repository.objects.values_list("name", flat=True))


@pytest.fixture
def many_tags(db):
    digest = content.push_image("team/ci", "stable", layers=1, layer_size=64)
    repo = Repository.objects.get(name="team/ci")
    manifest = Tag.objects.get(repository=repo, name="stable").manifest
    names = [f"build-{i}" for i in range(1, 131)] + ["v1.9", "v1.10", "V1.2", "rc", "sha256-" + "a" * 64 + ".sig"]
    Tag.objects.bulk_create(Tag(repository=repo, name=n, manifest=manifest) for n in names)
    now = timezone.now()
    for i, tag in enumerate(Tag.objects.filter(repository=repo).order_by("pk")):
        Tag.objects.filter(pk=tag.pk).update(updated_at=now - timedelta(seconds=i % 6))  # ties at 6 instants
    assert digest
    return repo


def test_tag_pages_in_natural_and_newest_order(client, many_tags):
    tags = list(Tag.objects.filter(repository=many_tags).exclude(name__startswith="sha256-"))
    pages, back = walk(client, "/r/team/ci/", {"sort": "name"})
    assert [n for p in pages for n in p] == [t.name for t in sorted(tags, key=lambda t: natural_key(t.name))]
    assert back == pages and len(pages) == 3
    pages, back = walk(client, "/r/team/ci/", {})
    newest = sorted(sorted(tags, key=lambda t: natural_key(t.name)), key=lambda t: t.updated_at, reverse=True)
    assert [n for p in pages for n in p] == [t.name for t in newest]
    assert back == pages


def test_tags_added_while_paging_the_newest_first(client, many_tags):
    first = client.get("/r/team/ci/").context["page"]
    manifest = Tag.objects.get(name="stable").manifest
    Tag.objects.create(repository=many_tags, name="fresh", manifest=manifest)  # newest: before page one
    seen, cursor = [t.name for t in first.object_list], first.next_cursor
    while cursor:
        page = client.get("/r/team/ci/", {"cursor": cursor}).context["page"]
        seen += [t.name for t in page.object_list]
        cursor = page.next_cursor if page.has_next else None
    assert len(seen) == len(set(seen)) == Tag.objects.filter(repository=many_tags).count() - 2  # fresh, .sig


def test_an_image_many_tags_share_shows_the_first_and_links_to_the_rest(client, admin_client, db):
    digest = content.push_image("team/wide", "a-0", layers=1, layer_size=64)
    repo = Repository.objects.get(name="team/wide")
    manifest = Tag.objects.get(repository=repo).manifest
    Tag.objects.bulk_create(Tag(repository=repo, name=f"a-{i}", manifest=manifest) for i in range(1, 3000))
    for url in (
        "/r/team/wide/-/tags/a-7/",
        f"/r/team/wide/-/manifests/{digest}/",
        f"/r/team/wide/-/manifests/{digest}/delete/",
    ):
        html = admin_client.get(url).content.decode()
        assert len(html.encode()) < 200_000, url
        assert "and 2900 more tags" in html and "a-99<" in html and "a-100<" not in html, url
    assert "(and its 3000 tags)" in admin_client.get("/r/team/wide/-/tags/a-7/").content.decode()
    untag = admin_client.get("/r/team/wide/-/tags/a-7/delete/").content.decode()
    assert len(untag.encode()) < 200_000 and "and 2899 more tags" in untag
    rest = client.get("/r/team/wide/", {"digest": digest, "sort": "name", "all": "1"})
    assert rest.context["matching"] == 3000 and "3000 tags name the image" in rest.content.decode()
    assert [t.name for t in rest.context["page"].object_list][:3] == ["a-0", "a-1", "a-2"]


def test_past_the_count_cap_a_tag_page_says_at_least_and_the_delete_page_counts_exactly(admin_client, db, monkeypatch):
    monkeypatch.setattr(catalog_service, "TAG_COUNT_CAP", 1000)
    digest = content.push_image("team/wider", "a-0", layers=1, layer_size=64)
    repo = Repository.objects.get(name="team/wider")
    manifest = Tag.objects.get(repository=repo).manifest
    Tag.objects.bulk_create(Tag(repository=repo, name=f"a-{i}", manifest=manifest) for i in range(1, 1500))
    tag_page = admin_client.get("/r/team/wider/-/tags/a-7/").content.decode()
    assert "and at least 900 more tags" in tag_page and "(and its more than 1000 tags)" in tag_page
    untag = admin_client.get("/r/team/wider/-/tags/a-7/delete/").content.decode()
    assert "and at least 899 more tags" in untag
    delete = admin_client.get(f"/r/team/wider/-/manifests/{digest}/delete/").content.decode()
    assert "and 1400 more tags" in delete and "at least" not in delete  # what a deletion takes: exact
    rest = admin_client.get("/r/team/wider/", {"digest": digest, "sort": "name", "all": "1"}).content.decode()
    assert "More than 1000 tags name the image" in rest
