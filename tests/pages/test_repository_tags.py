"""Repository pages with many tags: the tag filter, removing several tags at once, the "newest" order,
the pull command's tag, Markdown descriptions (and the image's own as default) and pull counts."""

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from images import manifest_formats
from images.models import Repository, RepositoryManifest, Tag
from images.services import manifests, repositories
from tests.support import content

pytestmark = pytest.mark.django_db


@pytest.fixture
def builds(db):
    """team/ci with tags build-1 … build-300 on one image, all pushed at the same instant, and `stable`."""
    digest = content.push_image("team/ci", "stable", layers=1, layer_size=64)
    manifest = manifests.get("team/ci", digest)
    repo = Repository.objects.get(name="team/ci")
    Tag.objects.bulk_create(Tag(repository=repo, name=f"build-{i}", manifest=manifest) for i in range(1, 301))
    Tag.objects.filter(repository=repo).update(updated_at=timezone.now() - timedelta(hours=1))
    return repo


def names(response):
    return [t.name for t in response.context["page"].object_list]


def test_filter_tags_by_substring_across_pages(client, builds):
    response = client.get("/r/team/ci/", {"q": "BUILD-1"})
    assert response.context["matching"] == 111  # build-1, 10-19, 100-199
    assert names(response)[:4] == ["build-1", "build-10", "build-11", "build-12"]
    html = response.content.decode()
    assert 'value="BUILD-1"' in html and "111 tags contain “BUILD-1”" in html
    cursor = response.context["page"].next_cursor
    assert f'rel="next" href="?q=BUILD-1&amp;cursor={cursor}"' in html
    second = client.get("/r/team/ci/", {"q": "BUILD-1", "cursor": cursor})
    assert names(second)[:2] == ["build-139", "build-140"]
    third = client.get("/r/team/ci/", {"q": "BUILD-1", "cursor": second.context["page"].next_cursor})
    assert names(third)[-1] == "build-199" and not third.context["page"].has_next
    nothing = client.get("/r/team/ci/", {"q": "nope"}).content.decode()
    assert "No tag contains “nope”" in nothing
    assert client.get("/r/team/ci/", {"q": "a\x00b"}).status_code == 200


def test_the_header_search_box_is_not_the_tag_filter(client, builds):
    html = client.get("/r/team/ci/", {"q": "build-7"}).content.decode()
    assert 'name="q" value="" placeholder="Search repositories"' in html


def test_newest_breaks_ties_in_natural_order(client, builds):
    repo = Repository.objects.get(name="team/ci")
    now = timezone.now()
    for name in ("build-60", "build-9", "build-10"):
        Tag.objects.filter(repository=repo, name=name).update(updated_at=now)
    Tag.objects.filter(repository=repo, name="stable").update(updated_at=now - timedelta(minutes=1))
    first = names(client.get("/r/team/ci/"))[:5]
    assert first == ["build-9", "build-10", "build-60", "stable", "build-1"]  # text order: 10, 60, 9
    by_name = names(client.get("/r/team/ci/", {"sort": "name"}))
    assert by_name[:3] == ["build-1", "build-2", "build-3"] and by_name.index("build-9") < by_name.index("build-10")


def test_pull_command_prefers_latest_then_the_newest_tag(client, builds):
    html = client.get("/r/team/ci/", {"sort": "name"}).content.decode().replace("<wbr>", "")
    assert "docker pull testserver/team/ci:build-1<" in html  # newest (a tie: natural order), not the page's first
    Tag.objects.filter(name="build-77").update(updated_at=timezone.now())
    html = client.get("/r/team/ci/", {"sort": "name", "q": "build-1"}).content.decode().replace("<wbr>", "")
    assert "docker pull testserver/team/ci:build-77<" in html
    content.push_image("team/ci", "latest", layers=1, layer_size=64)
    Tag.objects.filter(name="build-77").update(updated_at=timezone.now() + timedelta(minutes=1))
    html = client.get("/r/team/ci/").content.decode().replace("<wbr>", "")
    assert "docker pull testserver/team/ci:latest<" in html


def test_remove_selected_tags_after_confirming(admin_client, builds):
    stable = Tag.objects.get(name="stable").manifest_id
    page = admin_client.get("/r/team/ci/").content.decode()
    assert 'id="tag-selection"' in page and 'form="tag-selection"' in page and "Remove selected tags" in page
    confirm = admin_client.get("/r/team/ci/-/untag/", {"tag": ["build-9", "build-60", "gone"]})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Remove 2 tags from team/ci?" in html and "build-9" in html and "build-60" in html
    assert 'Not in team/ci (any more): <span class="mono">gone</span>' in html
    assert Tag.objects.filter(name__in=["build-9", "build-60"]).count() == 2  # a GET removes nothing
    done = admin_client.post("/r/team/ci/-/untag/", {"tag": ["build-9", "build-60"]}, follow=True)
    assert "Removed 2 tags from team/ci: build-9, build-60; the images stay, by digest." in done.content.decode()
    assert not Tag.objects.filter(name__in=["build-9", "build-60"]).exists()
    assert RepositoryManifest.objects.filter(repository__name="team/ci", manifest_id=stable).exists()
    one = admin_client.post("/r/team/ci/-/untag/", {"tag": ["build-1"]}, follow=True).content.decode()
    assert "Removed 1 tag from team/ci: build-1;" in one
    nothing = admin_client.get("/r/team/ci/-/untag/", follow=True).content.decode()
    assert "Select the tags to remove first." in nothing


def test_only_those_who_may_delete_tags_remove_several(client, user_client, builds):
    assert "tag-selection" not in user_client.get("/r/team/ci/").content.decode()
    anonymous = client.post("/r/team/ci/-/untag/", {"tag": ["build-9"]})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/?next=")
    assert user_client.get("/r/team/ci/-/untag/", {"tag": ["build-9"]}).status_code == 403
    assert user_client.post("/r/team/ci/-/untag/", {"tag": ["build-9"]}).status_code == 403
    assert Tag.objects.filter(name="build-9").exists()


def test_a_tag_named_untag_is_still_a_tag(client, builds):
    content.push_image("team/ci", "untag", layers=1, layer_size=64)
    assert client.get("/r/team/ci/-/tags/untag/").status_code == 200


DESCRIPTION = """# CI images

Built by **CI** from `main`. See https://example.invalid/ci or [the docs](https://example.invalid/docs).

<script>alert("x")</script><img src=x onerror="alert(1)"> [bad](javascript:alert(2))

| arch | tag |
|------|-----|
| amd64 | build-1 |
"""


class Elements(HTMLParser):
    """The tags and attributes of an HTML fragment, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend(attrs)


def test_description_is_markdown_rendered_safely(client, builds):
    repositories.set_description("team/ci", DESCRIPTION)
    html = client.get("/r/team/ci/").content.decode()
    start = html.index('<div class="description">')
    section = html[start : html.index("</section>", start)]
    assert "<h1>CI images</h1>" in section and "<strong>CI</strong>" in section and "<code>main</code>" in section
    assert '<a href="https://example.invalid/docs" rel="nofollow noopener noreferrer">the docs</a>' in section
    assert 'href="https://example.invalid/ci"' in section and "<td>amd64</td>" in section
    elements = Elements()
    elements.feed(section)
    assert {"script", "img"}.isdisjoint(elements.tags)
    assert not [name for name, _ in elements.attributes if name.startswith("on")]
    assert all(value.startswith("https://") for name, value in elements.attributes if name == "href")
    assert "&lt;script&gt;" in section  # raw HTML shows as text
    home = client.get("/").content.decode()
    assert "CI images Built by CI from main." in home and "**CI**" not in home


def labelled_image(repository, tag, description):
    config = json.loads(content.image_config(label="described"))
    config["config"]["Labels"]["org.opencontainers.image.description"] = description
    data = json.dumps(config).encode()
    layer = b"layer-bytes-" + description.encode()
    for blob in (data, layer):
        content.push_blob(repository, blob)
    body = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_MANIFEST,
        "config": {"mediaType": content.OCI_CONFIG, "digest": content.sha256(data), "size": len(data)},
        "layers": [{"mediaType": content.OCI_LAYER, "digest": content.sha256(layer), "size": len(layer)}],
    }
    manifests.put(repository, tag, json.dumps(body).encode(), manifest_formats.OCI_MANIFEST)


def test_image_label_is_the_default_description(client, admin_client, db):
    labelled_image("team/labelled", "1.0", "An **old** description.")
    labelled_image("team/labelled", "2.0", "Serves the *team* API.")
    html = client.get("/r/team/labelled/").content.decode()
    assert "Serves the <em>team</em> API." in html and "<strong>old</strong>" not in html
    assert 'From the newest image\'s <span class="mono">org.opencontainers.image.description</span>' in html
    repositories.set_description("team/labelled", "Written by hand.")
    html = client.get("/r/team/labelled/").content.decode()
    assert "Written by hand." in html and "Serves the" not in html


def test_index_annotation_is_the_default_description(client, db):
    index = {
        "schemaVersion": 2,
        "mediaType": manifest_formats.OCI_INDEX,
        "manifests": [],
        "annotations": {"org.opencontainers.image.description": "An index, described."},
    }
    manifests.put("team/annotated", "v1", json.dumps(index).encode(), manifest_formats.OCI_INDEX)
    assert "An index, described." in client.get("/r/team/annotated/").content.decode()


@pytest.fixture
def inline_bookkeeping(settings):
    settings.REGISTRY = {**settings.REGISTRY, "WEBHOOK_SYNC": True}
    manifests._last_pull_written.clear()
    manifests._pending_pulls.clear()
    yield
    manifests._pending_pulls.clear()


def test_pull_counts_per_tag_and_repository(client, inline_bookkeeping, db):
    content.push_image("team/pulled", "1.0", layers=1, layer_size=64)
    content.push_image("team/pulled", "2.0", layers=1, layer_size=64)
    index, children = content.push_index("team/pulled", "multi")
    accept = ",".join(manifest_formats.SUPPORTED_TYPES)
    for ref in ("1.0", "1.0", "2.0", "multi", children["linux/amd64"]):
        assert client.get(f"/v2/team/pulled/manifests/{ref}", HTTP_ACCEPT=accept).status_code == 200
    # The first pull wrote at once; the next ones wait for the minute to pass, in this process.
    assert Repository.objects.get(name="team/pulled").pull_count == 1
    manifests._last_pull_written["team/pulled"] -= manifests.PULL_TIME_RESOLUTION
    assert client.head("/v2/team/pulled/manifests/1.0").status_code == 200  # a HEAD is no pull
    assert client.get("/v2/team/pulled/manifests/1.0", HTTP_ACCEPT=accept).status_code == 200
    repo = Repository.objects.get(name="team/pulled")
    assert repo.pull_count == 5  # image manifests fetched: 1.0 three times, 2.0, the amd64 image (not the index)
    counts = dict(Tag.objects.filter(repository=repo).values_list("name", "pull_count"))
    assert counts == {"1.0": 3, "2.0": 1, "multi": 1}
    page = client.get("/r/team/pulled/").content.decode()
    assert '<span class="pull-count">5 pulls</span>' in page
    assert '<td class="num hide-sm pulls">3</td>' in page
    assert "1 pull<" in client.get("/r/team/pulled/-/tags/2.0/").content.decode()


def test_pull_counts_in_the_json_api(client, db):
    content.push_image("team/counted", "1.0", layers=1, layer_size=64)
    Repository.objects.filter(name="team/counted").update(pull_count=7)
    Tag.objects.filter(repository__name="team/counted").update(pull_count=4)
    assert client.get("/api/repositories/team/counted/", HTTP_ACCEPT="application/json").json()["pull_count"] == 7
    (row,) = client.get("/api/tags/?repository=team/counted", HTTP_ACCEPT="application/json").json()["results"]
    assert row["pull_count"] == 4
